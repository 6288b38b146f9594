//! Extractors that turn requests into typed inputs, failing with the
//! contract's problem+json codes (never actix's default text errors).

use std::net::IpAddr;

use actix_web::{
    FromRequest, HttpRequest,
    dev::Payload,
    http::header::{self, HeaderMap},
    web,
};
use application::{ClientInfo, Credentials};
use domain::{ApiKeySecret, ErrorCode, OrganizationId};
use futures_util::{StreamExt, future::LocalBoxFuture};
use serde::de::DeserializeOwned;

use crate::{error::ApiError, outcomes::Documented, settings::HttpSettings};

/// A JSON request body: 415 unless `application/json` and uncompressed,
/// 413 over the size limit, 400 if it does not parse or lacks a required
/// field.
#[derive(Debug)]
pub(crate) struct JsonBody<T>(pub T);

/// Like [`JsonBody`], but an empty body means `T::default()`.
#[derive(Debug)]
pub(crate) struct OptionalJsonBody<T>(pub T);

fn body_limit(req: &HttpRequest) -> usize {
    req.app_data::<web::Data<HttpSettings>>()
        .map_or(HttpSettings::DEFAULT_BODY_LIMIT, |s| s.body_limit)
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .is_some_and(|m| {
            m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
        })
}

/// Whether a body is sent as is: no `Content-Encoding`, or `identity`.
/// authd decodes no content coding, so a compressed body is refused as
/// such rather than read as malformed JSON.
fn is_uncompressed(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::CONTENT_ENCODING)
        .flat_map(|v| v.to_str().unwrap_or("?").split(','))
        .all(|coding| coding.trim().eq_ignore_ascii_case("identity"))
}

/// 415 unless the body is JSON, sent uncompressed.
fn check_media(headers: &HeaderMap) -> Result<(), ApiError> {
    if !is_json(headers) {
        return Err(ErrorCode::UnsupportedMediaType.into());
    }
    if !is_uncompressed(headers) {
        return Err(ApiError::with_detail(
            ErrorCode::UnsupportedMediaType,
            "The request body must be sent uncompressed (no Content-Encoding)",
        ));
    }
    Ok(())
}

/// Reads the whole body, refusing it as soon as it passes `limit`.
async fn read_body(
    req: &HttpRequest,
    payload: &mut Payload,
    limit: usize,
) -> Result<Vec<u8>, ApiError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(ErrorCode::PayloadTooLarge.into());
    }
    let mut body = Vec::with_capacity(declared.unwrap_or(0).min(limit));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| {
            ApiError::with_detail(ErrorCode::BadRequest, "The request body could not be read")
        })?;
        if body.len() + chunk.len() > limit {
            return Err(ErrorCode::PayloadTooLarge.into());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Reads a request object. Only a JSON object is one: serde would fill a
/// struct from an array in field order, so `["a@x.io", "pw"]` must not pass
/// for `{"email": …, "password": …}`.
fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') {
        let detail = match serde_json::from_slice::<serde::de::IgnoredAny>(body) {
            Ok(_) => "The request body must be a JSON object",
            Err(_) => "The request body is not valid JSON",
        };
        return Err(ApiError::with_detail(ErrorCode::BadRequest, detail));
    }
    serde_json::from_slice(body).map_err(|e| {
        let message = e.to_string();
        let detail = if !e.is_data() {
            "The request body is not valid JSON".to_owned()
        } else if let Some(field) = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
        {
            format!("Missing required field `{field}`")
        } else if let Some(field) = message
            .strip_prefix("unknown field `")
            .and_then(|rest| rest.split('`').next())
        {
            format!("Unknown field `{field}`")
        } else {
            // serde's other messages quote the offending value: never echo it.
            format!(
                "A field has the wrong type (line {}, column {})",
                e.line(),
                e.column()
            )
        };
        ApiError::with_detail(ErrorCode::BadRequest, detail)
    })
}

/// What reading a JSON body can end in, with or without one.
const BODY_CODES: &[ErrorCode] = &[
    ErrorCode::BadRequest,
    ErrorCode::PayloadTooLarge,
    ErrorCode::UnsupportedMediaType,
];

impl<T> Documented for JsonBody<T> {
    const CODES: &'static [ErrorCode] = BODY_CODES;
}

impl<T> Documented for OptionalJsonBody<T> {
    const CODES: &'static [ErrorCode] = BODY_CODES;
}

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            check_media(req.headers())?;
            let body = read_body(&req, &mut payload, body_limit(&req)).await?;
            parse(&body).map(JsonBody)
        })
    }
}

impl<T: DeserializeOwned + Default + 'static> FromRequest for OptionalJsonBody<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            let body = read_body(&req, &mut payload, body_limit(&req)).await?;
            if body.iter().all(u8::is_ascii_whitespace) {
                return Ok(OptionalJsonBody(T::default()));
            }
            check_media(req.headers())?;
            parse(&body).map(OptionalJsonBody)
        })
    }
}

/// What a caller of a protected endpoint presents, unchecked: the bearer
/// credential and the organization named in `X-Organization-Id`. Checking
/// them needs the store, so it happens on the blocking pool with the use
/// case.
pub(crate) struct Caller(pub Credentials);

impl std::fmt::Debug for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// The header that names the organization a caller acts for.
pub(crate) const ORGANIZATION_HEADER: &str = "x-organization-id";

impl Documented for Caller {
    const CODES: &'static [ErrorCode] = &[
        ErrorCode::MissingAuthorization,
        ErrorCode::InvalidToken,
        ErrorCode::BadRequest,
    ];
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(caller(req.headers()))
    }
}

/// The header that carries an API key, as `Authorization: Bearer` may too.
pub(crate) const API_KEY_HEADER: &str = "x-api-key";

fn caller(headers: &HeaderMap) -> Result<Caller, ApiError> {
    let refused = |detail| ApiError::with_detail(ErrorCode::BadRequest, detail);
    let mut keys = headers.get_all(API_KEY_HEADER);
    let bearer = match (keys.next(), keys.next()) {
        (None, _) => bearer(headers)?,
        (Some(_), Some(_)) => return Err(refused("X-API-Key may be given once only")),
        // The same credential in both (as clients that fill every scheme of
        // an operation send it) is one credential; two are refused.
        (Some(key), None) if headers.contains_key(header::AUTHORIZATION) => {
            let bearer = bearer(headers)?;
            if key.to_str().ok().map(str::trim) != Some(bearer.as_str()) {
                return Err(refused(
                    "Send one credential: Authorization or X-API-Key, not both",
                ));
            }
            bearer
        }
        // Only an API key: an access token belongs in Authorization.
        (Some(key), None) => key
            .to_str()
            .ok()
            .map(str::trim)
            .filter(|k| ApiKeySecret::is_claimed_by(k))
            .ok_or(ErrorCode::InvalidToken)?
            .to_owned(),
    };
    let mut values = headers.get_all(ORGANIZATION_HEADER);
    let organization = match (values.next(), values.next()) {
        (None, _) => None,
        // An empty header, as a proxy may pass one on, names none.
        (Some(value), None) if value.as_bytes().trim_ascii().is_empty() => None,
        (Some(value), None) => Some(
            value
                .to_str()
                .ok()
                .and_then(|v| v.trim().parse::<OrganizationId>().ok())
                .ok_or_else(|| refused("X-Organization-Id must be a UUID"))?,
        ),
        // Which one a proxy or a service behind would read is anybody's guess.
        (Some(_), Some(_)) => return Err(refused("X-Organization-Id may be given once only")),
    };
    Ok(Caller(Credentials {
        bearer,
        organization,
    }))
}

fn bearer(headers: &HeaderMap) -> Result<String, ApiError> {
    let mut values = headers.get_all(header::AUTHORIZATION);
    let Some(value) = values.next() else {
        return Err(ErrorCode::MissingAuthorization.into());
    };
    // Which one a proxy or a service behind would read is anybody's guess.
    if values.next().is_some() {
        return Err(ApiError::with_detail(
            ErrorCode::BadRequest,
            "Authorization may be given once only",
        ));
    }
    let value = value
        .to_str()
        .map_err(|_| ApiError::from(ErrorCode::InvalidToken))?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim().to_owned())
        }
        _ => Err(ErrorCode::InvalidToken.into()),
    }
}

/// Where the request came from: the peer's address, or, only when the peer
/// is a trusted proxy, the nearest untrusted address in `X-Forwarded-For`.
#[derive(Debug)]
pub(crate) struct Client(pub ClientInfo);

impl FromRequest for Client {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let trusted: &[IpAddr] = req
            .app_data::<web::Data<HttpSettings>>()
            .map_or(&[], |s| s.trusted_proxies.as_slice());
        let peer = req.peer_addr().map(|a| a.ip());
        let ip = client_ip(peer, req.headers(), trusted);
        let user_agent = req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(512).collect());
        std::future::ready(Ok(Client(ClientInfo { ip, user_agent })))
    }
}

/// The throttling key of a client address: IPv4 as is (IPv4-mapped IPv6
/// too), IPv6 by its /64, which one subscriber usually holds whole.
fn address_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                let net = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
                format!("{net}/64")
            }
        },
    }
}

fn client_ip(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpAddr]) -> String {
    let Some(peer) = peer else {
        // No socket address (a test harness without one): still throttle,
        // under one shared key.
        return "unknown".to_owned();
    };
    address_key(forwarded_client(peer, headers, trusted))
}

/// The client behind a chain of trusted proxies: walking `X-Forwarded-For`
/// from the right (the hop nearest to us), the first address that is not a
/// trusted proxy. An entry that is not an address ends the walk where it
/// is, so a malformed entry never lets a forged one further left through.
fn forwarded_client(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|t| t.to_canonical() == *ip);
    let mut client = peer.to_canonical();
    if !is_trusted(&client) {
        return client;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect();
    for hop in hops.iter().rev() {
        let Some(ip) = parse_hop(hop) else { break };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    client
}

/// One `X-Forwarded-For` entry: an address, or an address with a port
/// (`192.0.2.1:4711`, `[2001:db8::1]:4711`), in canonical form.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<std::net::SocketAddr>().ok().map(|a| a.ip()))
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::HeaderValue;

    #[test]
    fn forwarded_only_from_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let mut h = HeaderMap::new();
        h.insert(
            header::HeaderName::from_static("x-forwarded-for"),
            HeaderValue::from_static("1.2.3.4, 5.6.7.8, 10.0.0.1"),
        );
        assert_eq!(client_ip(Some(proxy), &h, &[proxy]), "5.6.7.8");
        assert_eq!(client_ip(Some(proxy), &h, &[]), "10.0.0.1");
        assert_eq!(
            client_ip(Some(proxy), &HeaderMap::new(), &[proxy]),
            "10.0.0.1"
        );
        assert_eq!(client_ip(None, &h, &[proxy]), "unknown");
    }

    #[test]
    fn forwarded_chains_are_walked_with_care() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let xff = |v: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(
                header::HeaderName::from_static("x-forwarded-for"),
                HeaderValue::from_static(v),
            );
            h
        };
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        assert_eq!(
            client_ip(Some(mapped), &xff("203.0.113.9"), &[proxy]),
            "203.0.113.9",
            "a trusted proxy seen as IPv4-mapped IPv6 is still trusted"
        );
        assert_eq!(
            client_ip(Some(proxy), &xff("203.0.113.9:4711"), &[proxy]),
            "203.0.113.9"
        );
        assert_eq!(
            client_ip(Some(proxy), &xff("[2001:db8:1:2::5]:4711"), &[proxy]),
            "2001:db8:1:2::/64"
        );
        assert_eq!(
            client_ip(Some(proxy), &xff("198.51.100.66, unknown"), &[proxy]),
            "10.0.0.1",
            "junk ends the walk: the forged entry to its left is never used"
        );
        assert_eq!(
            client_ip(
                Some(proxy),
                &xff("198.51.100.66, 203.0.113.9, 10.0.0.1"),
                &[proxy]
            ),
            "203.0.113.9"
        );
    }

    #[test]
    fn address_keys() {
        let key = |s: &str| address_key(s.parse().unwrap());
        assert_eq!(key("192.0.2.7"), "192.0.2.7");
        assert_eq!(key("::ffff:192.0.2.7"), "192.0.2.7");
        assert_eq!(key("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
    }

    #[test]
    fn bearer_parsing() {
        let mut h = HeaderMap::new();
        assert!(bearer(&h).is_err());
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert!(bearer(&h).is_err());
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer abc.def"),
        );
        assert_eq!(bearer(&h).unwrap(), "abc.def");
        h.append(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer abc.def"),
        );
        assert!(bearer(&h).is_err(), "twice, even alike");
    }

    #[test]
    fn the_organization_header_is_a_uuid_nothing_or_a_bad_request() {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer t"));
        assert_eq!(caller(&h).unwrap().0.organization, None);
        let id = OrganizationId::generate();
        h.insert(
            header::HeaderName::from_static(ORGANIZATION_HEADER),
            HeaderValue::from_str(&format!(" {id} ")).unwrap(),
        );
        assert_eq!(caller(&h).unwrap().0.organization, Some(id));
        h.append(
            header::HeaderName::from_static(ORGANIZATION_HEADER),
            HeaderValue::from_str(&id.to_string()).unwrap(),
        );
        assert!(caller(&h).is_err(), "given twice, even alike");
        h.insert(
            header::HeaderName::from_static(ORGANIZATION_HEADER),
            HeaderValue::from_static("acme"),
        );
        assert!(caller(&h).is_err());
        h.remove(header::AUTHORIZATION);
        assert!(
            caller(&h).is_err(),
            "no credential comes first, whatever the header"
        );
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer t"));
        h.insert(
            header::HeaderName::from_static(ORGANIZATION_HEADER),
            HeaderValue::from_static(""),
        );
        assert_eq!(caller(&h).unwrap().0.organization, None, "empty: none");
    }

    #[test]
    fn an_api_key_comes_in_either_header_and_one_credential_only() {
        let mut h = HeaderMap::new();
        let key = header::HeaderName::from_static(API_KEY_HEADER);
        h.insert(key.clone(), HeaderValue::from_static(" ak_x "));
        assert_eq!(caller(&h).unwrap().0.bearer, "ak_x");
        h.append(key.clone(), HeaderValue::from_static("ak_y"));
        assert!(caller(&h).is_err(), "twice");
        h.insert(
            key.clone(),
            HeaderValue::from_static("eyJhbGciOiJFZERTQSJ9.e30.sig"),
        );
        assert!(caller(&h).is_err(), "a token is not a key");
        h.insert(key.clone(), HeaderValue::from_static("ak_x"));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer ak_y"),
        );
        assert!(caller(&h).is_err(), "two credentials");
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer ak_x"),
        );
        assert_eq!(caller(&h).unwrap().0.bearer, "ak_x", "one, twice");
        h.insert(
            key.clone(),
            HeaderValue::from_static("eyJhbGciOiJFZERTQSJ9.e30.sig"),
        );
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer eyJhbGciOiJFZERTQSJ9.e30.sig"),
        );
        assert_eq!(
            caller(&h).unwrap().0.bearer,
            "eyJhbGciOiJFZERTQSJ9.e30.sig",
            "a token, in both"
        );
        h.remove(header::AUTHORIZATION);
        h.insert(key, HeaderValue::from_static(" "));
        assert!(caller(&h).is_err(), "empty");
    }

    #[test]
    fn json_media_types() {
        let mut h = HeaderMap::new();
        assert!(!is_json(&h));
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("Application/JSON; charset=utf-8"),
        );
        assert!(is_json(&h));
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/merge-patch+json"),
        );
        assert!(is_json(&h));
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        assert!(!is_json(&h));
    }

    #[test]
    fn only_uncompressed_bodies() {
        let mut h = HeaderMap::new();
        assert!(is_uncompressed(&h), "no Content-Encoding");
        for (coding, plain) in [
            ("identity", true),
            ("Identity", true),
            ("gzip", false),
            ("identity, gzip", false),
            ("br", false),
        ] {
            h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(coding));
            assert_eq!(is_uncompressed(&h), plain, "{coding}");
        }
    }
}

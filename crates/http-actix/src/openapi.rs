use utoipa::{
    Modify, OpenApi,
    openapi::{
        ContentBuilder, Deprecated, ObjectBuilder, Ref, RefOr, Required, Schema, Type,
        header::HeaderBuilder,
        link::LinkBuilder,
        path::{Operation, ParameterBuilder, ParameterIn},
        request_body::RequestBodyBuilder,
        security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
        server::ServerBuilder,
    },
};

use serde_json::{Value, json};

use crate::{
    dto::{self, rules},
    error, handlers,
};

/// The OpenAPI 3.1 document of the API, derived from the handlers and wire types.
#[derive(Debug)]
pub struct ApiDoc;

impl ApiDoc {
    /// The document of the routes a server serves: the canonical ones,
    /// and the compatibility profile routes when `compat_routes` is on.
    fn document(compat_routes: bool) -> utoipa::openapi::OpenApi {
        let mut doc = Canonical::openapi();
        if compat_routes {
            doc.merge(Profiles::openapi());
        }
        for modifier in [
            &BearerAuth as &dyn Modify,
            &OptionalLogoutBody,
            &OrganizationHeader,
            &DeprecatedProfiles,
            &EitherField,
            &RequestIdHeader,
            &Servers,
            &Links,
        ] {
            modifier.modify(&mut doc);
        }
        doc
    }

    /// The document as pretty JSON with its keys sorted, so that the same
    /// routes always print the same text.
    ///
    /// # Errors
    /// None in practice: the document is plain data.
    pub fn json(compat_routes: bool) -> serde_json::Result<String> {
        serde_json::to_string_pretty(&Self::value(compat_routes))
    }

    /// The document as a JSON value, as it is served and printed: the
    /// routes served, with `compat_routes` the profile routes too.
    pub fn value(compat_routes: bool) -> Value {
        let mut doc = serde_json::to_value(Self::document(compat_routes)).unwrap_or_default();
        camel_case_links(&mut doc);
        doc
    }
}

/// utoipa 5 writes a link's members in snake case (`operation_id`,
/// `request_body`); OpenAPI spells them `operationId`, `requestBody`.
fn camel_case_links(doc: &mut Value) {
    let operations = doc["paths"]
        .as_object_mut()
        .into_iter()
        .flat_map(|paths| paths.values_mut())
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.values_mut());
    let links = operations
        .filter_map(|operation| operation.get_mut("responses"))
        .filter_map(Value::as_object_mut)
        .flat_map(|responses| responses.values_mut())
        .filter_map(|response| response.get_mut("links").and_then(Value::as_object_mut))
        .flat_map(|links| links.values_mut())
        .filter_map(Value::as_object_mut);
    for link in links {
        for (snake, camel) in [
            ("operation_id", "operationId"),
            ("operation_ref", "operationRef"),
            ("request_body", "requestBody"),
        ] {
            if let Some(value) = link.remove(snake) {
                link.insert(camel.to_owned(), value);
            }
        }
    }
}

/// The canonical `/api/v1` operations, health and keys.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "authd",
        description = "Sign-up, login and tokens for REST APIs. Errors are RFC 9457 problem+json bodies with a stable `error_code`. \
            Request bodies are JSON objects. Besides what each operation lists, any path answers a method it lacks with 405 \
            `method-not-allowed` (with `Allow`), and an unknown path with 404 `not-found`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        handlers::auth::signup,
        handlers::auth::validate,
        handlers::auth::resend,
        handlers::auth::login,
        handlers::auth::refresh,
        handlers::auth::logout,
        handlers::auth::me,
        handlers::auth::update_me,
        handlers::auth::verify,
        handlers::system::jwks,
        handlers::system::live,
        handlers::system::ready,
        crate::metrics::endpoint,
        handlers::sessions::list_sessions,
        handlers::sessions::delete_session,
        handlers::passwords::change_password,
        handlers::passwords::forgot_password,
        handlers::passwords::reset_password,
        handlers::admin::list_users,
        handlers::admin::update_user,
        handlers::auth::signup_invite,
        handlers::organizations::list,
        handlers::organizations::create,
        handlers::organizations::show,
        handlers::organizations::rename,
        handlers::organizations::delete,
        handlers::organizations::members,
        handlers::organizations::change_role,
        handlers::organizations::remove_member,
        handlers::organizations::invite,
        handlers::organizations::invites,
        handlers::organizations::revoke_invite,
        handlers::organizations::accept_invite,
        handlers::api_keys::create,
        handlers::api_keys::list,
        handlers::api_keys::delete,
        handlers::mfa::setup,
        handlers::mfa::confirm,
        handlers::mfa::recovery_codes,
        handlers::mfa::disable,
        handlers::mfa::login_mfa,
        handlers::mfa::reset,
    ),
    components(schemas(
        error::Problem,
        error::FieldProblem,
        dto::UserDto,
        dto::TokenResponse,
        dto::LogoutBody,
        handlers::sessions::SessionDto
    )),
    tags(
        (name = "auth", description = "Accounts, login and tokens"),
        (name = "tokens", description = "Token verification keys"),
        (name = "health", description = "Liveness and readiness"),
        (name = "admin", description = "Account administration (administrators only)"),
        (name = "organizations", description = "Organizations, their members' roles, and invitations"),
    )
)]
struct Canonical;

/// The compatibility profile routes (`api.compat_routes`).
#[derive(OpenApi)]
#[openapi(
    paths(
        handlers::compat::api_login,
        handlers::compat::api_organizations,
        handlers::compat::api_signup,
        handlers::compat::api_signup_invite,
        handlers::compat::auth_login,
        handlers::compat::auth_refresh_token,
    ),
    tags(
        (name = handlers::compat::TAG, description = "The paths and field names of other published auth APIs, \
            for their existing clients; each does what the `/api/v1` operation it names does. \
            Deprecated: new clients use `/api/v1`. Off with `api.compat_routes = false`."),
    )
)]
struct Profiles;

/// Every profile operation is deprecated: new clients use `/api/v1`.
struct DeprecatedProfiles;

impl Modify for DeprecatedProfiles {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for operation in operations(openapi) {
            let tags = operation.tags.as_deref().unwrap_or_default();
            if tags.iter().any(|t| t == handlers::compat::TAG) {
                operation.deprecated = Some(Deprecated::True);
            }
        }
    }
}

/// Bodies that need one field of two: the first when it is given, else
/// the second; where the two exclude each other, never both. Said with
/// `if`/`then`/`else`, which validators and fuzzers read and client
/// generators pass over; an `anyOf` of the two would make generators turn
/// the body into a union of partial types.
struct EitherField;

/// A body, its two fields with what each must be to count as given, and
/// whether giving both is refused.
type EitherRule = (
    &'static str,
    (&'static str, Value),
    (&'static str, Value),
    bool,
);

impl EitherField {
    fn rules() -> [EitherRule; 5] {
        let not_blank = || json!({ "type": "string", "pattern": rules::NOT_BLANK_PATTERN });
        let not_empty = || json!({ "type": "string", "minLength": 1 });
        let email =
            json!({ "allOf": [not_blank(), { "$ref": "#/components/schemas/EmailAddress" }] });
        [
            (
                "LoginBody",
                ("username", not_blank()),
                ("email", not_blank()),
                false,
            ),
            (
                "RefreshBody",
                ("refresh_token", not_empty()),
                ("refreshToken", not_empty()),
                false,
            ),
            (
                "ResendBody",
                ("resend_code", not_blank()),
                ("email", email),
                false,
            ),
            (
                "DisableTotpBody",
                ("password", not_blank()),
                ("code", not_blank()),
                true,
            ),
            (
                "LoginMfaBody",
                ("code", not_blank()),
                ("recovery_code", not_blank()),
                true,
            ),
        ]
    }
}

impl Modify for EitherField {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        let given = |(field, schema): (&str, Value)| json!({ "required": [field], "properties": { field: schema } });
        for (body, first, second, exclusive) in Self::rules() {
            let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(body) else {
                panic!("{body} is not an object schema of the document");
            };
            let second = given(second);
            let extensions = object.extensions.get_or_insert_with(Default::default);
            extensions.insert("if".to_owned(), given(first));
            if exclusive {
                extensions.insert("then".to_owned(), json!({ "not": second.clone() }));
            }
            extensions.insert("else".to_owned(), second);
        }
    }
}

/// Every response carries `X-Request-Id` (the `request_id` middleware).
struct RequestIdHeader;

impl Modify for RequestIdHeader {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let header = HeaderBuilder::new()
            .schema(Schema::Object(
                ObjectBuilder::new().schema_type(Type::String).build(),
            ))
            .description(Some(
                "The request's id: the caller's own `X-Request-Id` when it is at most \
                 128 visible ASCII characters, else a new one; a problem's `trace_id`",
            ))
            .build();
        for operation in operations(openapi) {
            for response in operation.responses.responses.values_mut() {
                if let RefOr::T(response) = response {
                    response
                        .headers
                        .insert("X-Request-Id".to_owned(), header.clone());
                }
            }
        }
    }
}

/// The server that serves the document: `/`, resolved against where the
/// document was read (Swagger UI then calls the server it is served by);
/// a generated client is given its deployment's base address.
struct Servers;

impl Modify for Servers {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        openapi.servers = Some(vec![
            ServerBuilder::new()
                .url("/")
                .description(Some("the server that serves this document"))
                .build(),
        ]);
    }
}

/// How one answer leads to the next operation (OpenAPI links), for
/// clients and for stateful testing.
struct Links;

/// A link: the operation and status it starts from, its name, the
/// operation it leads to, what it says, its parameters and its body.
type LinkRow = (
    (&'static str, &'static str, &'static str),
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
    Option<Value>,
);

impl Links {
    fn rows() -> Vec<LinkRow> {
        let signup = ("post", "/api/v1/auth/signup", "201");
        let login = ("post", "/api/v1/auth/login", "200");
        let refresh = ("post", "/api/v1/auth/refresh", "200");
        let invited = ("post", "/api/v1/auth/signup/invite", "201");
        let new_key = ("post", "/api/v1/auth/keys", "201");
        let new_org = ("post", "/api/v1/organizations", "201");
        let new_invite = ("post", "/api/v1/organizations/{id}/invites", "201");
        let sessions = ("get", "/api/v1/auth/sessions", "200");
        let bearer = "with this answer's `access_token` as the bearer token";
        let org = &[("id", "$response.body#/id")][..];
        let mut rows: Vec<LinkRow> = vec![
            (
                signup,
                "Validate",
                "validate",
                "with the code from the validation mail",
                &[],
                None,
            ),
            (
                signup,
                "ResendValidation",
                "resend",
                "another validation mail",
                &[],
                Some(json!({ "email": "$request.body#/email" })),
            ),
            (
                signup,
                "LogIn",
                "login",
                "`account-not-validated` until the address is validated",
                &[],
                Some(
                    json!({ "username": "$request.body#/email", "password": "$request.body#/password" }),
                ),
            ),
            (
                new_key,
                "DeleteKey",
                "delete_api_key",
                "the key just made",
                &[("id", "$response.body#/id")],
                None,
            ),
            (
                new_org,
                "GetOrganization",
                "get_organization",
                "the organization just made",
                org,
                None,
            ),
            (
                new_org,
                "RenameOrganization",
                "rename_organization",
                "the organization just made",
                org,
                None,
            ),
            (
                new_org,
                "DeleteOrganization",
                "delete_organization",
                "the organization just made",
                org,
                None,
            ),
            (
                new_org,
                "ListMembers",
                "list_members",
                "its one member, the caller, its owner",
                org,
                None,
            ),
            (
                new_org,
                "Invite",
                "create_invite",
                "invite someone to it",
                org,
                None,
            ),
            (
                new_invite,
                "RevokeInvite",
                "revoke_invite",
                "the invitation just made",
                &[
                    ("id", "$request.path.id"),
                    ("invite_id", "$response.body#/id"),
                ],
                None,
            ),
            (
                sessions,
                "DeleteSession",
                "delete_session",
                "the newest session",
                &[("id", "$response.body#/0/id")],
                None,
            ),
        ];
        for from in [login, refresh, invited] {
            rows.push((
                from,
                "Refresh",
                "refresh",
                "spend the refresh token",
                &[],
                Some(json!({ "refresh_token": "$response.body#/refresh_token" })),
            ));
            rows.push((from, "Me", "me", bearer, &[], None));
            rows.push((from, "LogOut", "logout", bearer, &[], None));
        }
        rows
    }
}

impl Modify for Links {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for ((method, path, status), name, target, description, parameters, body) in Self::rows() {
            let response = openapi
                .paths
                .paths
                .get_mut(path)
                .and_then(|item| match method {
                    "get" => item.get.as_mut(),
                    _ => item.post.as_mut(),
                })
                .and_then(|operation| operation.responses.responses.get_mut(status));
            let Some(RefOr::T(response)) = response else {
                panic!("a link starts from {method} {path} {status}, which is not documented");
            };
            let link = parameters
                .iter()
                .fold(LinkBuilder::new(), |link, (parameter, value)| {
                    link.parameter(*parameter, *value)
                })
                .operation_id(target)
                .description(description)
                .request_body(body)
                .build();
            response.links.insert(name.to_owned(), RefOr::T(link));
        }
    }
}

/// Every operation of the document.
fn operations(openapi: &mut utoipa::openapi::OpenApi) -> impl Iterator<Item = &mut Operation> {
    openapi.paths.paths.values_mut().flat_map(|item| {
        [
            &mut item.get,
            &mut item.post,
            &mut item.patch,
            &mut item.put,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
    })
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An access token from login or refresh; or, where the operation \
                         also names `api_key`, an API key (`ak_…`)",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-API-Key",
                "An API key (`ak_…`), acting as its owner; `Authorization: Bearer <key>` works too",
            ))),
        );
    }
}

/// A UUID in its hyphenated form, or nothing (an empty header names none).
const UUID_PATTERN: &str =
    "^([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})?$";

/// Every operation that takes a bearer credential also reads
/// `X-Organization-Id` (the `Caller` extractor): say so on each.
struct OrganizationHeader;

impl Modify for OrganizationHeader {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for operation in operations(openapi) {
            if operation.security.is_none() {
                continue;
            }
            let header = ParameterBuilder::new()
                .name("X-Organization-Id")
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .description(Some(
                    "The organization the caller acts for. A member acts with their \
                     role there, a platform administrator may name any organization; \
                     anyone else is refused (403 `insufficient-permissions`). Empty: \
                     none is named. Not a UUID: 400 `bad-request`.",
                ))
                // A pattern rather than `format: uuid`: some generators
                // pass a UUID object to their HTTP library as it is.
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .pattern(Some(UUID_PATTERN))
                        .examples(["0193a8a6-7c9d-7c1e-9b0a-3f5e2d1c4b6a"]),
                ))
                .build();
            operation
                .parameters
                .get_or_insert_with(Vec::new)
                .push(header);
        }
    }
}

/// The logout body may be left out: say so with `required: false` and a
/// plain reference, which client generators handle, rather than a
/// `null`-or-object schema.
struct OptionalLogoutBody;

impl Modify for OptionalLogoutBody {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let logout = openapi
            .paths
            .paths
            .get_mut("/api/v1/auth/logout")
            .and_then(|item| item.post.as_mut());
        if let Some(operation) = logout {
            operation.request_body = Some(
                RequestBodyBuilder::new()
                    .description(Some("Optional; an empty body ends this session only"))
                    .content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("LogoutBody")))
                            .build(),
                    )
                    .required(Some(Required::False))
                    .build(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::ApiDoc;
    use crate::{
        dto::{FieldRules, admin::QueryString},
        error::status_of,
        extract::{Caller, JsonBody, OptionalJsonBody},
        outcomes::Documented,
    };
    use application::{
        AcceptInviteError, ChangeMemberError, CreateOrganizationError, InviteError,
        InviteSignupError, ManageOrganizationError, ViewOrganizationError,
    };
    use application::{
        AdminError, AuthenticateError, DeleteSessionError, Fault, ListSessionsError, LoginError,
        LogoutError, MeError, RefreshError, SignupError, UpdateProfileError, UpdateUserError,
        ValidateError,
    };
    use application::{ChangePasswordError, ResetPasswordError};
    use application::{CreateApiKeyError, DeleteApiKeyError, SessionRequired};
    use application::{
        DisableTotpError, LoginMfaError, RecoveryCodesError, ResetMfaError, SetupTotpError,
        TotpCodeError,
    };
    use domain::ErrorCode;

    /// What each operation is made of, read off its handler: the codes it
    /// can answer with.
    fn possible() -> BTreeMap<(&'static str, &'static str), Vec<ErrorCode>> {
        let json = <JsonBody<()> as Documented>::CODES;
        let optional_json = <OptionalJsonBody<()> as Documented>::CODES;
        let bearer = Caller::CODES;
        let auth = AuthenticateError::CODES;
        let fields = FieldRules::CODES;
        let view = ViewOrganizationError::CODES;
        let manage = ManageOrganizationError::CODES;
        let change = ChangeMemberError::CODES;
        let session = SessionRequired::CODES;
        let ops: [(&str, &str, &[&[ErrorCode]]); 48] = [
            (
                "post",
                "/api/v1/auth/signup",
                &[json, fields, SignupError::CODES],
            ),
            (
                "post",
                "/api/v1/auth/validate",
                &[json, ValidateError::CODES],
            ),
            ("post", "/api/v1/auth/validate/resend", &[json, fields]),
            ("post", "/api/v1/auth/login", &[json, LoginError::CODES]),
            ("post", "/api/v1/auth/refresh", &[json, RefreshError::CODES]),
            (
                "post",
                "/api/v1/auth/logout",
                &[optional_json, bearer, auth, session, LogoutError::CODES],
            ),
            ("get", "/api/v1/auth/me", &[bearer, auth, MeError::CODES]),
            (
                "patch",
                "/api/v1/auth/me",
                &[bearer, json, fields, auth, UpdateProfileError::CODES],
            ),
            (
                "get",
                "/api/v1/auth/verify",
                &[bearer, auth, MeError::CODES],
            ),
            ("get", "/health/live", &[]),
            ("get", "/health/ready", &[application::NotReady::CODES]),
            ("get", "/metrics", &[crate::metrics::TokenRequired::CODES]),
            ("get", "/.well-known/jwks.json", &[]),
            (
                "get",
                "/api/v1/auth/sessions",
                &[bearer, auth, session, ListSessionsError::CODES],
            ),
            (
                "delete",
                "/api/v1/auth/sessions/{id}",
                &[bearer, auth, session, DeleteSessionError::CODES],
            ),
            (
                "post",
                "/api/v1/auth/password/change",
                &[bearer, json, auth, session, ChangePasswordError::CODES],
            ),
            ("post", "/api/v1/auth/password/forgot", &[json, fields]),
            (
                "post",
                "/api/v1/auth/password/reset",
                &[json, ResetPasswordError::CODES],
            ),
            (
                "get",
                "/api/v1/admin/users",
                &[
                    bearer,
                    auth,
                    AdminError::CODES,
                    QueryString::CODES,
                    fields,
                    Fault::CODES,
                ],
            ),
            (
                "patch",
                "/api/v1/admin/users/{id}",
                &[
                    bearer,
                    json,
                    fields,
                    auth,
                    AdminError::CODES,
                    UpdateUserError::CODES,
                ],
            ),
            (
                "post",
                "/api/v1/auth/signup/invite",
                &[json, fields, InviteSignupError::CODES],
            ),
            (
                "get",
                "/api/v1/organizations",
                &[bearer, auth, Fault::CODES],
            ),
            (
                "post",
                "/api/v1/organizations",
                &[bearer, json, fields, auth, CreateOrganizationError::CODES],
            ),
            ("get", "/api/v1/organizations/{id}", &[bearer, auth, view]),
            (
                "patch",
                "/api/v1/organizations/{id}",
                &[bearer, json, fields, auth, manage],
            ),
            (
                "delete",
                "/api/v1/organizations/{id}",
                &[bearer, auth, manage],
            ),
            (
                "get",
                "/api/v1/organizations/{id}/members",
                &[bearer, auth, view],
            ),
            (
                "patch",
                "/api/v1/organizations/{id}/members/{user_id}",
                &[bearer, json, fields, auth, change],
            ),
            (
                "delete",
                "/api/v1/organizations/{id}/members/{user_id}",
                &[bearer, auth, change],
            ),
            (
                "post",
                "/api/v1/organizations/{id}/invites",
                &[bearer, json, fields, auth, InviteError::CODES],
            ),
            (
                "get",
                "/api/v1/organizations/{id}/invites",
                &[bearer, auth, manage],
            ),
            (
                "delete",
                "/api/v1/organizations/{id}/invites/{invite_id}",
                &[bearer, auth, manage],
            ),
            (
                "post",
                "/api/v1/organizations/invites/accept",
                &[bearer, json, auth, AcceptInviteError::CODES],
            ),
            (
                "post",
                "/api/v1/auth/keys",
                &[
                    bearer,
                    json,
                    fields,
                    auth,
                    session,
                    CreateApiKeyError::CODES,
                ],
            ),
            (
                "get",
                "/api/v1/auth/keys",
                &[bearer, auth, session, Fault::CODES],
            ),
            (
                "delete",
                "/api/v1/auth/keys/{id}",
                &[bearer, auth, session, DeleteApiKeyError::CODES],
            ),
            (
                "post",
                "/api/v1/auth/mfa/totp/setup",
                &[bearer, auth, session, SetupTotpError::CODES],
            ),
            (
                "post",
                "/api/v1/auth/mfa/totp/confirm",
                &[bearer, json, auth, session, TotpCodeError::CODES],
            ),
            (
                "post",
                "/api/v1/auth/mfa/recovery-codes",
                &[bearer, json, auth, session, RecoveryCodesError::CODES],
            ),
            (
                "delete",
                "/api/v1/auth/mfa/totp",
                &[bearer, json, auth, session, DisableTotpError::CODES],
            ),
            (
                "post",
                "/api/v1/auth/login/mfa",
                &[json, LoginMfaError::CODES],
            ),
            (
                "delete",
                "/api/v1/admin/users/{id}/mfa",
                &[bearer, auth, AdminError::CODES, ResetMfaError::CODES],
            ),
            ("post", "/api/auth/login", &[json, LoginError::CODES]),
            ("get", "/api/organizations", &[bearer, auth, Fault::CODES]),
            (
                "post",
                "/api/auth/signup",
                &[json, fields, SignupError::CODES],
            ),
            (
                "post",
                "/api/auth/signup_invite",
                &[json, fields, InviteSignupError::CODES],
            ),
            ("post", "/auth/login", &[json, LoginError::CODES]),
            ("post", "/auth/refresh-token", &[json, RefreshError::CODES]),
        ];
        ops.into_iter()
            .map(|(method, path, parts)| ((method, path), parts.concat()))
            .collect()
    }

    /// The `error_code`s a response's description names, in backticks (every
    /// code has a hyphen; field names such as `errors` have none).
    fn named_codes(description: &str) -> BTreeSet<String> {
        description
            .split('`')
            .skip(1)
            .step_by(2)
            .filter(|s| s.contains('-') && s.chars().all(|c| c.is_ascii_lowercase() || c == '-'))
            .map(str::to_owned)
            .collect()
    }

    /// A variant added to a use case error does not compile until its row
    /// is in `outcomes.rs`, and from there it reaches both the answer and
    /// the document; this holds the document to what each handler runs.
    #[test]
    fn every_operation_documents_exactly_the_codes_it_can_answer_with() {
        let doc = ApiDoc::value(true);
        let possible = possible();
        let mut seen = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                let key = (method.as_str(), path.as_str());
                let codes = possible
                    .iter()
                    .find(|((m, p), _)| (*m, *p) == key)
                    .map(|(_, codes)| codes)
                    .unwrap_or_else(|| panic!("{method} {path} is not in the table"));
                seen.insert(key);
                let responses = operation["responses"].as_object().unwrap();
                for code in codes {
                    let status = status_of(*code).as_u16().to_string();
                    let response = &responses.get(&status).unwrap_or_else(|| {
                        panic!("{method} {path} can answer {status} `{code}`; not documented")
                    });
                    let description = response["description"].as_str().unwrap();
                    assert!(
                        named_codes(description).contains(code.as_str()),
                        "{method} {path}: {status} does not name `{code}`: {description}"
                    );
                    assert!(
                        response["content"]["application/problem+json"].is_object(),
                        "{method} {path}: {status} is not problem+json"
                    );
                }
                for (status, response) in responses {
                    if !status.starts_with('4') && !status.starts_with('5') {
                        continue;
                    }
                    let named = named_codes(response["description"].as_str().unwrap());
                    assert!(!named.is_empty(), "{method} {path}: {status} names no code");
                    for name in named {
                        assert!(
                            codes
                                .iter()
                                .any(|c| c.as_str() == name && status_of(*c).as_str() == status),
                            "{method} {path}: {status} names `{name}`, which it cannot answer with"
                        );
                    }
                }
            }
        }
        assert_eq!(seen.len(), possible.len(), "an operation left the document");
    }

    /// An operation whose handler refuses API keys (its parts include
    /// `SessionRequired`) documents the bearer scheme only; every other
    /// authenticated one also names `api_key`.
    #[test]
    fn api_keys_are_documented_where_they_work_and_nowhere_else() {
        let doc = ApiDoc::value(true);
        let session_only: BTreeSet<(&str, &str)> = [
            ("post", "/api/v1/auth/logout"),
            ("post", "/api/v1/auth/password/change"),
            ("get", "/api/v1/auth/sessions"),
            ("delete", "/api/v1/auth/sessions/{id}"),
            ("post", "/api/v1/auth/keys"),
            ("get", "/api/v1/auth/keys"),
            ("delete", "/api/v1/auth/keys/{id}"),
            ("post", "/api/v1/auth/mfa/totp/setup"),
            ("post", "/api/v1/auth/mfa/totp/confirm"),
            ("post", "/api/v1/auth/mfa/recovery-codes"),
            ("delete", "/api/v1/auth/mfa/totp"),
        ]
        .into();
        let insufficient = ErrorCode::InsufficientPermissions;
        for ((method, path), codes) in possible() {
            let operation = &doc["paths"][path][method];
            let Some(security) = operation["security"].as_array() else {
                continue;
            };
            let schemes: BTreeSet<&str> = security
                .iter()
                .flat_map(|s| s.as_object().unwrap().keys().map(String::as_str))
                .collect();
            let refuses_keys = session_only.contains(&(method, path));
            assert_eq!(
                !schemes.contains("api_key"),
                refuses_keys,
                "{method} {path}: {schemes:?}"
            );
            assert!(schemes.contains("bearer"), "{method} {path}");
            if refuses_keys {
                assert!(codes.contains(&insufficient), "{method} {path}");
            }
        }
    }

    /// The profile routes are in the document exactly when they are
    /// served, each deprecated under its own tag; nothing else changes.
    #[test]
    fn profile_routes_are_deprecated_and_documented_only_where_served() {
        let with = ApiDoc::value(true);
        let without = ApiDoc::value(false);
        let profiles = [
            "/api/auth/login",
            "/api/auth/signup",
            "/api/auth/signup_invite",
            "/api/organizations",
            "/auth/login",
            "/auth/refresh-token",
        ];
        let mut seen = 0;
        for (path, item) in with["paths"].as_object().unwrap() {
            let profile = profiles.contains(&path.as_str());
            seen += usize::from(profile);
            for (method, operation) in item.as_object().unwrap() {
                let tags = operation["tags"].as_array().unwrap();
                assert_eq!(
                    tags.iter().any(|t| t == "compatibility"),
                    profile,
                    "{method} {path}: {tags:?}"
                );
                assert_eq!(operation["deprecated"] == true, profile, "{method} {path}");
                if !profile {
                    assert_eq!(
                        &without["paths"][path][method], operation,
                        "{method} {path} is the same in both"
                    );
                }
            }
            assert_eq!(without["paths"].get(path).is_none(), profile, "{path}");
        }
        assert_eq!(seen, profiles.len());
        let header = &with["paths"]["/api/organizations"]["get"]["parameters"][0];
        assert_eq!(header["name"], "X-Organization-Id");
        let tags = |doc: &serde_json::Value| -> Vec<String> {
            doc["tags"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["name"].as_str().unwrap().to_owned())
                .collect()
        };
        assert!(tags(&with).contains(&"compatibility".to_owned()));
        assert!(!tags(&without).contains(&"compatibility".to_owned()));
    }

    #[test]
    fn errors_carry_their_headers_in_the_document() {
        let doc = ApiDoc::value(true);
        let login = &doc["paths"]["/api/v1/auth/login"]["post"]["responses"];
        assert!(login["429"]["headers"]["Retry-After"].is_object());
        assert!(login["401"]["headers"]["WWW-Authenticate"].is_object());
        let me = &doc["paths"]["/api/v1/auth/me"]["get"]["responses"];
        assert!(me["401"]["headers"]["WWW-Authenticate"].is_object());
        assert!(me["503"]["headers"]["Retry-After"].is_object());
        let ready = &doc["paths"]["/health/ready"]["get"]["responses"];
        assert!(ready["503"]["headers"]["Retry-After"].is_object());
    }

    /// Every operation of a document, with its method and path.
    fn each_operation(doc: &serde_json::Value) -> Vec<(String, String, &serde_json::Value)> {
        let mut all = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                all.push((method.clone(), path.clone(), operation));
            }
        }
        all
    }

    #[test]
    fn every_response_names_its_request_id_header() {
        let doc = ApiDoc::value(true);
        for (method, path, operation) in each_operation(&doc) {
            for (status, response) in operation["responses"].as_object().unwrap() {
                assert!(
                    response["headers"]["X-Request-Id"].is_object(),
                    "{method} {path} {status}"
                );
            }
        }
    }

    /// Each link leads to an operation of the document, names only that
    /// operation's parameters, and is spelled as OpenAPI spells links.
    #[test]
    fn links_lead_to_operations_that_exist() {
        let doc = ApiDoc::value(true);
        let operations = each_operation(&doc);
        let by_id = |id: &str| {
            operations
                .iter()
                .find(|(_, _, o)| o["operationId"] == id)
                .map(|(_, _, o)| *o)
        };
        let mut links = 0;
        for (method, path, operation) in &operations {
            for response in operation["responses"].as_object().unwrap().values() {
                let Some(found) = response["links"].as_object() else {
                    continue;
                };
                for (name, link) in found {
                    links += 1;
                    assert!(link.get("operation_id").is_none(), "{name}");
                    let id = link["operationId"].as_str().unwrap();
                    let target = by_id(id)
                        .unwrap_or_else(|| panic!("{method} {path}: {name} leads to no {id}"));
                    for parameter in link["parameters"]
                        .as_object()
                        .into_iter()
                        .flatten()
                        .map(|p| p.0)
                    {
                        let known = target["parameters"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .any(|p| p["name"] == parameter.as_str());
                        assert!(known, "{name}: {id} has no parameter {parameter}");
                    }
                    if link.get("requestBody").is_some() {
                        assert!(
                            target["requestBody"].is_object(),
                            "{name}: {id} takes no body"
                        );
                    }
                }
            }
        }
        assert!(links >= 20, "{links} links");
    }

    /// Schema names read as type names: no Rust suffix, and none that a
    /// generator also derives from an operation id (`LoginResponse` for
    /// `login`), which would make it rename one of the two.
    #[test]
    fn schema_names_read_well_and_clash_with_no_derived_name() {
        let doc = ApiDoc::value(true);
        let pascal = |id: &str| -> String {
            id.split('_')
                .map(|w| {
                    let mut c = w.chars();
                    c.next()
                        .map_or_else(String::new, |f| f.to_uppercase().chain(c).collect())
                })
                .collect()
        };
        let derived: BTreeSet<String> = each_operation(&doc)
            .into_iter()
            .flat_map(|(_, _, o)| {
                let base = pascal(o["operationId"].as_str().unwrap());
                ["Data", "Response", "Responses", "Error", "Errors"].map(|s| format!("{base}{s}"))
            })
            .collect();
        for name in doc["components"]["schemas"].as_object().unwrap().keys() {
            assert!(!name.ends_with("Dto"), "{name}");
            assert!(
                !derived.contains(name),
                "{name} is also derived from an operation id"
            );
        }
    }

    /// The TOTP code patterns (literals, as utoipa wants) spell white space
    /// as the field rules do: what the authenticator adapter strips.
    #[test]
    fn totp_code_patterns_take_white_space_as_the_server_does() {
        let doc = ApiDoc::value(true);
        let schemas = &doc["components"]["schemas"];
        let s = crate::dto::rules::SPACE;
        let required = format!("^{s}*([0-9]{s}*){{6}}$");
        let optional = format!("^{s}*(([0-9]{s}*){{6}})?$");
        assert_eq!(
            schemas["TotpCodeBody"]["properties"]["code"]["pattern"],
            required
        );
        for body in ["DisableTotpBody", "LoginMfaBody"] {
            assert_eq!(
                schemas[body]["properties"]["code"]["pattern"], optional,
                "{body}"
            );
        }
    }

    /// The closed sets a client switches on are enums.
    #[test]
    fn closed_sets_are_enums() {
        let doc = ApiDoc::value(true);
        let schemas = &doc["components"]["schemas"];
        let codes = schemas["ErrorCode"]["enum"].as_array().unwrap();
        assert_eq!(codes.len(), ErrorCode::all().count());
        assert!(codes.iter().any(|c| c == "bad-credentials"));
        assert_eq!(
            schemas["Problem"]["properties"]["error_code"]["$ref"],
            "#/components/schemas/ErrorCode"
        );
        for (schema, field, target) in [
            ("User", "status", "AccountStatus"),
            ("TokenResponse", "token_type", "TokenType"),
            ("Member", "role", "RoleName"),
            ("Jwk", "kty", "KeyType"),
        ] {
            assert_eq!(
                schemas[schema]["properties"][field]["$ref"],
                format!("#/components/schemas/{target}"),
                "{schema}.{field}"
            );
            assert!(schemas[target]["enum"].is_array(), "{target}");
        }
    }

    /// Whether a property's schema shows a client a value: an example of
    /// its own, an enum, or what it refers to, its non-null alternative or
    /// its items do.
    fn shows_a_value(doc: &serde_json::Value, schema: &serde_json::Value, depth: usize) -> bool {
        if depth > 8 {
            return true;
        }
        if ["example", "examples", "enum"]
            .iter()
            .any(|k| schema.get(*k).is_some())
        {
            return true;
        }
        if let Some(name) = schema["$ref"]
            .as_str()
            .and_then(|r| r.strip_prefix("#/components/schemas/"))
        {
            let target = &doc["components"]["schemas"][name];
            return shows_a_value(doc, target, depth + 1)
                || target["properties"]
                    .as_object()
                    .is_some_and(|props| props.values().all(|p| shows_a_value(doc, p, depth + 1)));
        }
        if let Some(alternatives) = schema["oneOf"].as_array() {
            return alternatives
                .iter()
                .filter(|a| a["type"] != "null")
                .all(|a| shows_a_value(doc, a, depth + 1));
        }
        schema
            .get("items")
            .is_some_and(|items| shows_a_value(doc, items, depth + 1))
    }

    #[test]
    fn every_property_shows_an_example() {
        let doc = ApiDoc::value(true);
        let mut bare = Vec::new();
        for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
            let parts =
                std::iter::once(schema).chain(schema["allOf"].as_array().into_iter().flatten());
            for part in parts {
                for (field, property) in part["properties"].as_object().into_iter().flatten() {
                    if !shows_a_value(&doc, property, 0) {
                        bare.push(format!("{name}.{field}"));
                    }
                }
            }
        }
        assert!(bare.is_empty(), "no example: {bare:?}");
    }
}

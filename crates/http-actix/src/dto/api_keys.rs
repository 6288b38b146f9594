//! Wire types of API keys.

use application::NewApiKey;
use domain::{ApiKey, ApiKeyName, ApiKeySecret};
use serde::{Deserialize, Serialize};
use time::{OffsetDateTime, UtcOffset, format_description::well_known::Rfc3339};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Fields, rfc3339};
use crate::error::ApiError;

/// A key to make. Unknown fields are refused: a mistyped `expires_at`
/// must not make a key that never expires.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateApiKeyBody {
    /// What you call it.
    #[schema(value_type = super::rules::Name, example = "deploy bot")]
    name: String,
    /// When it stops working (RFC 3339, in the future); never, when absent.
    #[schema(format = DateTime, example = "2027-01-01T00:00:00Z")]
    expires_at: Option<String>,
}

impl CreateApiKeyBody {
    pub(crate) fn try_into_domain(self) -> Result<NewApiKey, ApiError> {
        let mut f = Fields::default();
        let name = f.check("name", ApiKeyName::parse(&self.name));
        let expires_at = f.optional("expires_at", self.expires_at.as_deref(), |raw| {
            // In UTC, to the microsecond the stores keep.
            OffsetDateTime::parse(raw.trim(), &Rfc3339)
                .map(|t| t.to_offset(UtcOffset::UTC))
                .map(|t| {
                    t.replace_nanosecond(t.nanosecond() / 1_000 * 1_000)
                        .unwrap_or(t)
                })
                .map_err(|_| "must be an RFC 3339 time")
        });
        let new = (|| {
            Some(NewApiKey {
                name: name?,
                expires_at: expires_at?,
            })
        })();
        f.finish(new)
    }
}

/// An API key, without its secret.
#[derive(Serialize, ToSchema)]
#[schema(as = ApiKey)]
pub(crate) struct ApiKeyDto {
    #[schema(example = "0193a8b2-4e61-7d0a-b3c5-8f1e2a7d6c90")]
    id: Uuid,
    #[schema(example = "deploy bot")]
    name: String,
    /// The first characters of the secret, to tell keys apart.
    #[schema(example = "ak_EoF2MwnE")]
    prefix: String,
    #[schema(format = DateTime, example = "2026-03-01T10:30:00Z")]
    created_at: String,
    /// When it was last used, to the minute or so; `null` if never.
    #[schema(format = DateTime, example = "2026-03-01T11:02:00Z")]
    #[schema(required = true)]
    last_used_at: Option<String>,
    /// When it stops working; `null` for never.
    #[schema(format = DateTime, example = "2027-01-01T00:00:00Z")]
    #[schema(required = true)]
    expires_at: Option<String>,
    /// The same as `id`.
    #[serde(rename = "keyId")]
    #[schema(deprecated, example = "0193a8b2-4e61-7d0a-b3c5-8f1e2a7d6c90")]
    key_id: Uuid,
    /// The same as `created_at`.
    #[serde(rename = "createdAt")]
    #[schema(format = DateTime, deprecated, example = "2026-03-01T10:30:00Z")]
    created_at_alias: String,
    /// The same as `last_used_at`.
    #[serde(rename = "lastUsed")]
    #[schema(format = DateTime, deprecated, example = "2026-03-01T11:02:00Z")]
    #[schema(required = true)]
    last_used: Option<String>,
}

impl From<ApiKey> for ApiKeyDto {
    fn from(k: ApiKey) -> Self {
        let created_at = rfc3339(k.created_at);
        let last_used_at = k.last_used_at.map(rfc3339);
        Self {
            id: k.id.as_uuid(),
            name: k.name.to_string(),
            prefix: k.prefix,
            created_at_alias: created_at.clone(),
            created_at,
            last_used: last_used_at.clone(),
            last_used_at,
            expires_at: k.expires_at.map(rfc3339),
            key_id: k.id.as_uuid(),
        }
    }
}

/// A new API key, with its secret: shown here only, never again.
#[derive(Serialize, ToSchema)]
#[schema(as = CreatedApiKey)]
pub(crate) struct CreatedApiKeyDto {
    #[serde(flatten)]
    key: ApiKeyDto,
    /// The secret: send it as `Authorization: Bearer …` or `X-API-Key: …`.
    /// `ak_`, 43 characters of base64url, then an 8-hex-digit checksum.
    #[schema(example = "ak_EoF2MwnEwuDQkbfsAfvADSY1mBGrZxk8F3p8inzt1xA66d3c05a")]
    api_key: String,
    /// The same as `api_key`.
    #[serde(rename = "apiKey")]
    #[schema(
        deprecated,
        example = "ak_EoF2MwnEwuDQkbfsAfvADSY1mBGrZxk8F3p8inzt1xA66d3c05a"
    )]
    api_key_alias: String,
}

impl From<(ApiKey, ApiKeySecret)> for CreatedApiKeyDto {
    fn from((key, secret): (ApiKey, ApiKeySecret)) -> Self {
        let api_key = secret.expose().to_owned();
        Self {
            key: key.into(),
            api_key_alias: api_key.clone(),
            api_key,
        }
    }
}

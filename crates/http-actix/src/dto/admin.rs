//! Wire types of the administration endpoints.

use domain::{AdminPatch, AdminStatus, PageLimit, UserPage, UserQuery, UserSearch, UserStatus};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{Fields, UserDto, non_empty};
use crate::{error::ApiError, outcomes::Documented};

/// A query string that must parse at all: a parameter given twice is a
/// `bad-request`.
pub(crate) struct QueryString;

impl Documented for QueryString {
    const CODES: &'static [domain::ErrorCode] = &[domain::ErrorCode::BadRequest];
}

/// Where an account stands.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // a schema only: the value is parsed as a domain value
pub(crate) enum AccountStatus {
    PendingValidation,
    Active,
    Inactive,
}

/// The statuses an administrator may set.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // a schema only: the value is parsed as a domain value
pub(crate) enum SettableStatus {
    Active,
    Inactive,
}

/// Which users to list. Values that break a rule are a
/// `validation-failed` naming each parameter.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListUsersParams {
    /// Only users with this status.
    #[param(value_type = Option<AccountStatus>, inline)]
    status: Option<String>,
    /// Text to find, whatever its case, in the e-mail address, username,
    /// first or last name; `%` and `_` match only themselves.
    #[param(max_length = 100, example = "ada")]
    q: Option<String>,
    /// How many users the page holds.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200, default = 50)]
    limit: Option<String>,
    /// How many matching users to skip.
    #[param(value_type = Option<i64>, minimum = 0, maximum = 9_223_372_036_854_775_807_i64, default = 0)]
    offset: Option<String>,
}

impl ListUsersParams {
    /// The parameters of `query_string`.
    pub(crate) fn from_query_string(query_string: &str) -> Result<Self, ApiError> {
        actix_web::web::Query::<Self>::from_query(query_string)
            .map(actix_web::web::Query::into_inner)
            .map_err(|_| {
                ApiError::with_detail(
                    domain::ErrorCode::BadRequest,
                    "The query string is malformed",
                )
            })
    }

    /// `status`, `limit` and `offset` are typed: given empty, they break
    /// their rule like any other value that is not one of theirs. `q` is
    /// text, and empty text matches every user.
    pub(crate) fn try_into_domain(self) -> Result<UserQuery, ApiError> {
        let mut f = Fields::default();
        let status = f.optional("status", self.status.as_deref(), UserStatus::parse);
        let search = match non_empty(&self.q) {
            Some(q) => f.check("q", UserSearch::parse(q)),
            None => Some(None),
        };
        let limit = match self.limit.as_deref() {
            Some(raw) => f.check(
                "limit",
                raw.parse::<u32>()
                    .map_err(|_| domain::PageLimitError)
                    .and_then(PageLimit::new),
            ),
            None => Some(PageLimit::default()),
        };
        let offset = match self.offset.as_deref() {
            Some(raw) => f.check(
                "offset",
                // The stores count in signed 64 bits, as the schema's int64 says.
                raw.parse::<i64>()
                    .ok()
                    .and_then(|n| u64::try_from(n).ok())
                    .ok_or("offset must be an integer from 0 to 9223372036854775807"),
            ),
            None => Some(0),
        };
        let query = (|| {
            Some(UserQuery {
                status: status?,
                search: search?,
                limit: limit?,
                offset: offset?,
            })
        })();
        f.finish(query)
    }
}

/// One page of users.
#[derive(Serialize, ToSchema)]
#[schema(as = UserPage)]
pub(crate) struct UserPageDto {
    /// The users of the page, oldest first.
    items: Vec<UserDto>,
    /// How many users match the filter, on every page together.
    #[schema(example = 1)]
    total: u64,
}

impl From<UserPage> for UserPageDto {
    fn from(page: UserPage) -> Self {
        Self {
            items: page.items.into_iter().map(UserDto::from).collect(),
            total: page.total,
        }
    }
}

/// An administrator's change to an account. Absent fields stay as they
/// are.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AdminPatchBody {
    /// `inactive` switches the account off and ends every session of it at
    /// once; `active` switches it on (a pending account too: it may then
    /// log in, its e-mail address still unverified).
    #[schema(value_type = Option<SettableStatus>, inline)]
    status: Option<String>,
    /// Grant or withdraw the administrator's rights.
    #[schema(example = true)]
    is_admin: Option<bool>,
}

impl AdminPatchBody {
    pub(crate) fn try_into_domain(self) -> Result<AdminPatch, ApiError> {
        let mut f = Fields::default();
        let status = f.optional("status", self.status.as_deref(), AdminStatus::parse);
        let patch = status.map(|status| AdminPatch {
            status,
            is_admin: self.is_admin,
        });
        f.finish(patch)
    }
}

//! What administrators do with accounts: listing them, and switching them
//! on and off.

use diesel::{pg::Pg, prelude::*};
use domain::{AdminPatch, User, UserId, UserPage, UserQuery};
use ports::{StoreError, UserAdminStore};
use time::OffsetDateTime;

use crate::{
    queries::{like_pattern, lock_user, revoke_sessions_of, save_user},
    rows::UserRow,
    schema::users,
    store::PgStore,
    users::lower,
};

/// The users `query` selects, before ordering and paging.
fn matching(query: &UserQuery) -> users::BoxedQuery<'static, Pg> {
    let mut selected = users::table.into_boxed();
    if let Some(status) = query.status {
        selected = selected.filter(users::status.eq(status.as_str()));
    }
    if let Some(search) = &query.search {
        let pattern = like_pattern(search.as_str());
        // A user without a username compares NULL there, which the other
        // fields' matches outweigh.
        selected = selected.filter(
            lower(users::email)
                .like(pattern.clone())
                .escape('\\')
                .or(lower(users::username.assume_not_null())
                    .like(pattern.clone())
                    .escape('\\'))
                .or(lower(users::first_name).like(pattern.clone()).escape('\\'))
                .or(lower(users::last_name).like(pattern).escape('\\')),
        );
    }
    selected
}

impl UserAdminStore for PgStore {
    fn list_users(&self, query: &UserQuery) -> Result<UserPage, StoreError> {
        // An offset past what a database can count skips everyone.
        let offset = i64::try_from(query.offset).unwrap_or(i64::MAX);
        // Two statements, no snapshot: a user added between them may make
        // the total and the page disagree by one, which paging tolerates.
        self.with_conn(|conn| {
            let total: i64 = matching(query).count().get_result(conn)?;
            let rows = matching(query)
                .select(UserRow::as_select())
                .order((users::created_at, users::id))
                .limit(i64::from(query.limit.get()))
                .offset(offset)
                .load(conn)?;
            let items = rows
                .into_iter()
                .map(UserRow::into_domain)
                .collect::<Result<Vec<User>, StoreError>>()?;
            Ok(UserPage {
                items,
                total: u64::try_from(total).unwrap_or_default(),
            })
        })
    }

    fn apply_admin_patch(
        &self,
        id: UserId,
        patch: &AdminPatch,
        now: OffsetDateTime,
    ) -> Result<User, StoreError> {
        self.transaction(|conn| {
            let change = patch.apply(lock_user(conn, id)?, now);
            let user = save_user(conn, &change.user)?;
            if change.revoke_sessions {
                revoke_sessions_of(conn, id, None, now)?;
            }
            Ok(user)
        })
    }
}

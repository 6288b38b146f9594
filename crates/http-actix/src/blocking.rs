use actix_web::web;
use application::AppError;

use crate::error::ApiError;

/// Runs a synchronous use case on the blocking pool (never on an actix
/// worker), inside the current request's tracing span.
pub(crate) async fn blocking<T, F>(f: F) -> Result<T, ApiError>
where
    F: FnOnce() -> Result<T, AppError> + Send + 'static,
    T: Send + 'static,
{
    let span = tracing::Span::current();
    web::block(move || span.in_scope(f))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::from)
}

use actix_web::web;

use crate::error::ApiError;

/// Runs a synchronous use case on the blocking pool (never on an actix
/// worker), inside the current request's tracing span.
pub(crate) async fn blocking<T, E, F>(f: F) -> Result<T, ApiError>
where
    F: FnOnce() -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: Into<ApiError> + Send + 'static,
{
    let span = tracing::Span::current();
    web::block(move || span.in_scope(f))
        .await
        .map_err(ApiError::internal)?
        .map_err(Into::into)
}

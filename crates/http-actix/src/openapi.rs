use utoipa::{
    Modify, OpenApi,
    openapi::{
        ContentBuilder, Ref, Required,
        request_body::RequestBodyBuilder,
        security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    },
};

use crate::{dto, error, handlers};

/// The OpenAPI 3.1 document of the API, derived from the handlers and wire types.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "authd",
        description = "Sign-up, login and tokens for REST APIs. Errors are RFC 9457 problem+json bodies with a stable `error_code`.",
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
    ),
    components(schemas(
        error::Problem,
        error::FieldProblem,
        dto::UserDto,
        dto::TokenResponse,
        dto::LogoutBody
    )),
    modifiers(&BearerAuth, &OptionalLogoutBody),
    tags(
        (name = "auth", description = "Accounts, login and tokens"),
        (name = "tokens", description = "Token verification keys"),
        (name = "health", description = "Liveness and readiness"),
    )
)]
#[derive(Debug)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("An access token from login or refresh"))
                    .build(),
            ),
        );
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

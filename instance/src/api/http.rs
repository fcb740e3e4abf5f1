//! The API's HTTP routes at `/v1/graphql`: POST runs a query or a mutation; GET upgrades to the
//! `graphql-transport-ws` websocket protocol (subscriptions, queries and mutations) or, from a
//! browser, serves GraphiQL. The credential is the `Authorization: Bearer …` header, or the
//! `authorization` field of the websocket's `connection_init` payload.
//!
//! Bodies above [`super::Limits::body_bytes`] are refused with 413 before parsing, a request
//! runs at most [`super::Limits::timeout`], and batches are not accepted, so one request is one
//! operation within the schema's depth and complexity limits.

use std::net::SocketAddr;

use async_graphql::http::GraphiQLSource;
use async_graphql::{Data, ServerError};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::Router;
use axum::body::Bytes;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

use super::ApiState;
use super::caller::{Caller, resolve};
use super::error::ApiError;
use super::schema::{ApiSchema, build};
use super::session::ClientAddress;
use super::subscriptions::SessionExpiry;

/// The path of the API.
pub const PATH: &str = "/v1/graphql";

/// The only websocket subprotocol served.
const PROTOCOL: &str = "graphql-transport-ws";

#[derive(Clone)]
struct Http {
    schema: ApiSchema,
    state: ApiState,
}

/// The routes of the API for `state`.
pub fn router(state: ApiState) -> Router {
    let schema = build(state.clone());
    Router::new()
        .route(PATH, get(graphql_get).post(graphql_post))
        .with_state(Http { schema, state })
}

/// One GraphQL error as a whole response, with `status`.
fn error_response(status: StatusCode, err: ApiError) -> Response {
    let err: async_graphql::Error = err.into();
    let response = async_graphql::Response::from_errors(vec![
        err.into_server_error(async_graphql::Pos::default()),
    ]);
    (status, axum::Json(response)).into_response()
}

fn authorization(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    headers
        .get(header::AUTHORIZATION)
        .map(|value| {
            value
                .to_str()
                .map_err(|_| ApiError::Unauthenticated("the authorization header is not text"))
        })
        .transpose()
}

async fn graphql_post(State(http): State<Http>, request: Request) -> Response {
    let address = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| ClientAddress(address.ip()));
    let (parts, body) = request.into_parts();
    let limits = http.state.config.limits;
    let Ok(body): Result<Bytes, _> = axum::body::to_bytes(body, limits.body_bytes).await else {
        return error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::bad_input(format!(
                "the request body exceeds {} bytes",
                limits.body_bytes
            )),
        );
    };
    let graphql: async_graphql::Request = match serde_json::from_slice(&body) {
        Ok(graphql) => graphql,
        Err(_) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                ApiError::bad_input("the body must be one GraphQL request as JSON"),
            );
        }
    };
    let caller = match authorization(&parts.headers) {
        Ok(value) => resolve(&http.state, value).await,
        Err(err) => Err(err),
    };
    let (caller, _expires) = match caller {
        Ok(resolved) => resolved,
        Err(err @ ApiError::Unauthenticated(_)) => {
            return error_response(StatusCode::UNAUTHORIZED, err);
        }
        Err(err) => return error_response(StatusCode::INTERNAL_SERVER_ERROR, err),
    };
    let mut graphql = graphql.data(caller);
    if let Some(address) = address {
        graphql = graphql.data(address);
    }
    match tokio::time::timeout(limits.timeout, http.schema.execute(graphql)).await {
        Ok(response) => axum::Json(response).into_response(),
        Err(_elapsed) => {
            let err = ServerError::new("the request took too long", None);
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(async_graphql::Response::from_errors(vec![err])),
            )
                .into_response()
        }
    }
}

async fn graphql_get(State(http): State<Http>, request: Request) -> Response {
    let upgrade = request
        .headers()
        .get(header::UPGRADE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.eq_ignore_ascii_case("websocket"));
    if upgrade {
        return websocket(http, request).await;
    }
    let browser = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.contains("text/html"));
    if browser {
        return Html(
            GraphiQLSource::build()
                .endpoint(PATH)
                .subscription_endpoint(PATH)
                .finish(),
        )
        .into_response();
    }
    error_response(
        StatusCode::METHOD_NOT_ALLOWED,
        ApiError::bad_input("POST queries and mutations; GET is for websockets and browsers"),
    )
}

async fn websocket(http: Http, request: Request) -> Response {
    let (mut parts, _body) = request.into_parts();
    let offered = parts
        .headers
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.split(',').any(|protocol| protocol.trim() == PROTOCOL));
    if !offered {
        return error_response(
            StatusCode::BAD_REQUEST,
            ApiError::bad_input(format!("the websocket subprotocol must be {PROTOCOL}")),
        );
    }
    // Only the current protocol is spoken, even when the client also offers the old one.
    parts.headers.insert(
        header::SEC_WEBSOCKET_PROTOCOL,
        HeaderValue::from_static(PROTOCOL),
    );
    let protocol = match GraphQLProtocol::from_request_parts(&mut parts, &()).await {
        Ok(protocol) => protocol,
        Err(rejection) => return rejection.into_response(),
    };
    let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
    let address = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| ClientAddress(address.ip()));
    let Http { schema, state } = http;
    upgrade.protocols([PROTOCOL]).on_upgrade(move |socket| {
        GraphQLWebSocket::new(socket, schema, protocol)
            .on_connection_init(move |payload| connection_data(state, payload, address))
            .serve()
    })
}

/// The connection's data from its `connection_init` payload: the caller, when its credential
/// expires, and the client's address.
async fn connection_data(
    state: ApiState,
    payload: serde_json::Value,
    address: Option<ClientAddress>,
) -> async_graphql::Result<Data> {
    let authorization = ["authorization", "Authorization"]
        .iter()
        .find_map(|field| payload.get(field).and_then(serde_json::Value::as_str));
    let (caller, expires): (Caller, Option<i64>) = resolve(&state, authorization).await?;
    let mut data = Data::default();
    data.insert(caller);
    if let Some(expires) = expires {
        data.insert(SessionExpiry(expires));
    }
    if let Some(address) = address {
        data.insert(address);
    }
    Ok(data)
}

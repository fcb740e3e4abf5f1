//! A typed client of the MONO GraphQL API.
//!
//! Every operation is a `.graphql` document in `sdk/graphql/`, checked at compile time against
//! the committed `schema.graphql` (the one `mono schema` prints and CI keeps current) by
//! `graphql_client`, which generates its variables and response types. A client that compiles
//! against the schema sends only operations the server understands.
//!
//! ```no_run
//! # async fn example() -> Result<(), mono_sdk::Error> {
//! use mono_sdk::{Client, operations::{GetSystemInfo, get_system_info}};
//!
//! let client = Client::new("http://127.0.0.1:2998/v1/graphql")?;
//! let info = client
//!     .run::<GetSystemInfo>(get_system_info::Variables { block: None })
//!     .await?;
//! println!("{} at block {}", info.get_system_info.coopname, info.get_system_info.synced_block);
//! # Ok(())
//! # }
//! ```

pub mod operations;
mod subscription;

pub use subscription::Subscription;

use std::sync::Arc;

use graphql_client::GraphQLQuery;
use serde::Deserialize;
use thiserror::Error;

/// Why an operation failed.
#[derive(Debug, Error)]
pub enum Error {
    /// The request did not reach the server, or its answer could not be read.
    #[error("request to the API failed: {0}")]
    Http(#[from] reqwest::Error),
    /// The server answered with an HTTP error and no GraphQL errors.
    #[error("the API answered HTTP {status}: {body}")]
    Status {
        /// HTTP status code.
        status: u16,
        /// The body, as text.
        body: String,
    },
    /// The server refused the operation.
    #[error("{}", first_message(.0))]
    Api(Vec<ApiError>),
    /// The answer has neither data nor errors.
    #[error("the API answered with no data")]
    NoData,
    /// The TLS configuration could not be built.
    #[error("TLS configuration: {0}")]
    Tls(String),
    /// The subscription's websocket failed or spoke out of protocol.
    #[error("subscription: {0}")]
    Websocket(String),
}

fn first_message(errors: &[ApiError]) -> String {
    errors.first().map_or_else(
        || "the API refused the operation".to_owned(),
        |error| match &error.code {
            Some(code) => format!("{code}: {}", error.message),
            None => error.message.clone(),
        },
    )
}

impl Error {
    /// The machine-readable code of the first API error (`UNAUTHENTICATED`, `FORBIDDEN`,
    /// `BAD_USER_INPUT`, `CHAIN_REJECTED`, …).
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Api(errors) => errors.first().and_then(|error| error.code.as_deref()),
            _ => None,
        }
    }
}

/// One GraphQL error the API returned.
#[derive(Debug, Clone, Deserialize)]
pub struct ApiError {
    /// What went wrong, for people.
    pub message: String,
    /// The error's code.
    pub code: Option<String>,
    /// The invalid input fields, for `BAD_USER_INPUT`.
    pub fields: Vec<FieldError>,
}

/// One invalid input field.
#[derive(Debug, Clone, Deserialize)]
pub struct FieldError {
    /// The field's name.
    pub field: String,
    /// Why it is invalid.
    pub message: String,
}

/// A GraphQL answer as the server sends it.
#[derive(Deserialize)]
struct Answer<T> {
    data: Option<T>,
    #[serde(default)]
    errors: Vec<WireError>,
}

impl<T> Answer<T> {
    fn into_result(self) -> Result<T, Error> {
        if !self.errors.is_empty() {
            return Err(Error::Api(
                self.errors.into_iter().map(ApiError::from).collect(),
            ));
        }
        self.data.ok_or(Error::NoData)
    }
}

#[derive(Deserialize)]
struct WireError {
    message: String,
    #[serde(default)]
    extensions: Option<WireExtensions>,
}

#[derive(Deserialize)]
struct WireExtensions {
    code: Option<String>,
    #[serde(default)]
    fields: Vec<FieldError>,
}

impl From<WireError> for ApiError {
    fn from(error: WireError) -> Self {
        let (code, fields) = error.extensions.map_or((None, Vec::new()), |extensions| {
            (extensions.code, extensions.fields)
        });
        Self {
            message: error.message,
            code,
            fields,
        }
    }
}

/// A client of one instance's API, optionally acting with an access token.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    tls: Arc<rustls::ClientConfig>,
    endpoint: Arc<str>,
    token: Option<Arc<str>>,
}

impl Client {
    /// A client of the API at `endpoint` (`…/v1/graphql`), trusting the system's CA roots for
    /// `https`.
    pub fn new(endpoint: &str) -> Result<Self, Error> {
        let tls = Arc::new(tls_config()?);
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls.as_ref().clone())
            .build()?;
        Ok(Self {
            http,
            tls,
            endpoint: endpoint.into(),
            token: None,
        })
    }

    /// A client of the API at `endpoint` over `http`, configured by the caller; subscriptions
    /// trust the system's CA roots.
    pub fn with_http(http: reqwest::Client, endpoint: &str) -> Result<Self, Error> {
        Ok(Self {
            http,
            tls: Arc::new(tls_config()?),
            endpoint: endpoint.into(),
            token: None,
        })
    }

    /// The same client acting with the access `token`.
    #[must_use]
    pub fn with_token(&self, token: &str) -> Self {
        Self {
            token: Some(token.into()),
            ..self.clone()
        }
    }

    /// The endpoint this client calls.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Runs the operation `Q` with `variables`.
    pub async fn run<Q: GraphQLQuery>(
        &self,
        variables: Q::Variables,
    ) -> Result<Q::ResponseData, Error> {
        let mut request = self
            .http
            .post(&*self.endpoint)
            .json(&Q::build_query(variables));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await?;
        let status = response.status();
        let body = response.bytes().await?;
        let answer: Answer<Q::ResponseData> = match serde_json::from_slice(&body) {
            Ok(answer) => answer,
            Err(_) => {
                return Err(Error::Status {
                    status: status.as_u16(),
                    body: String::from_utf8_lossy(&body).into_owned(),
                });
            }
        };
        answer.into_result()
    }
}

/// rustls on the system's CA roots.
fn tls_config() -> Result<rustls::ClientConfig, Error> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|err| Error::Tls(err.to_string()))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(config)
}

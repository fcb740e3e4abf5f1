//! Failures of API requests, each rendered as a Kubernetes `Status` body with the reason and
//! code a real API server would send, so clients take the same error paths.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// A request the fake refuses, as a Kubernetes API server would.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// No object of that name, or no such resource type.
    #[error("{what} not found")]
    NotFound {
        /// What was looked for, such as `deployments.apps "web"`.
        what: String,
    },
    /// A create named an object that exists.
    #[error("{what} already exists")]
    AlreadyExists {
        /// The object, such as `secrets "db"`.
        what: String,
    },
    /// An optimistic-concurrency precondition failed.
    #[error("Operation cannot be fulfilled on {what}: {detail}")]
    Conflict {
        /// The object, such as `deployments.apps "web"`.
        what: String,
        /// Why, such as the stale resourceVersion.
        detail: String,
    },
    /// The object or patch is not acceptable.
    #[error("{what} is invalid: {detail}")]
    Invalid {
        /// The object or request.
        what: String,
        /// The failed rule.
        detail: String,
    },
    /// The request itself is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// A watch asked for history that has been compacted away.
    #[error("too old resource version: {requested} ({oldest})")]
    Expired {
        /// The version the client asked for.
        requested: u64,
        /// The oldest version still replayable.
        oldest: u64,
    },
    /// The URL names no served resource type.
    #[error("the server could not find the requested resource")]
    UnknownResource,
    /// The verb is not served on that path.
    #[error("the server does not allow this method on the requested resource")]
    MethodNotAllowed,
    /// The body's content type is not one the fake understands.
    #[error("the body of the request was in an unknown format: {0}")]
    UnsupportedMediaType(String),
}

/// Result of a store or API operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The `reason` field of the `Status` body.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::NotFound { .. } | Self::UnknownResource => "NotFound",
            Self::AlreadyExists { .. } => "AlreadyExists",
            Self::Conflict { .. } => "Conflict",
            Self::Invalid { .. } => "Invalid",
            Self::BadRequest(_) => "BadRequest",
            Self::Expired { .. } => "Expired",
            Self::MethodNotAllowed => "MethodNotAllowed",
            Self::UnsupportedMediaType(_) => "UnsupportedMediaType",
        }
    }

    /// The HTTP status code.
    pub fn code(&self) -> StatusCode {
        match self {
            Self::NotFound { .. } | Self::UnknownResource => StatusCode::NOT_FOUND,
            Self::AlreadyExists { .. } | Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Expired { .. } => StatusCode::GONE,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        }
    }

    /// The Kubernetes `Status` object describing this failure.
    pub fn status(&self) -> Value {
        json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.to_string(),
            "reason": self.reason(),
            "code": self.code().as_u16(),
        })
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        (self.code(), axum::Json(self.status())).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_bodies_carry_reason_and_code() {
        let cases = [
            (
                Error::NotFound {
                    what: "secrets \"a\"".into(),
                },
                "NotFound",
                404,
            ),
            (
                Error::AlreadyExists {
                    what: "secrets \"a\"".into(),
                },
                "AlreadyExists",
                409,
            ),
            (
                Error::Conflict {
                    what: "x".into(),
                    detail: "y".into(),
                },
                "Conflict",
                409,
            ),
            (
                Error::Invalid {
                    what: "x".into(),
                    detail: "y".into(),
                },
                "Invalid",
                422,
            ),
            (
                Error::Expired {
                    requested: 1,
                    oldest: 5,
                },
                "Expired",
                410,
            ),
            (Error::BadRequest("x".into()), "BadRequest", 400),
        ];
        for (error, reason, code) in cases {
            let status = error.status();
            assert_eq!(
                (status["reason"].as_str(), status["code"].as_u64()),
                (Some(reason), Some(code))
            );
            assert_eq!(status["status"], "Failure");
            assert_eq!(status["message"], error.to_string());
        }
    }
}

//! The one error type of the API and its GraphQL form: a message safe to show and a code in
//! `extensions.code` (`UNAUTHENTICATED`, `FORBIDDEN`, `BAD_USER_INPUT`, `NOT_FOUND`, `CONFLICT`,
//! `TOO_MANY_REQUESTS`, `CHAIN_REJECTED`, `UNAVAILABLE`, `INTERNAL`). Invalid fields are listed in `extensions.fields`. An
//! internal failure reaches the client as a generic message with an error id; its detail is
//! logged once, under that id, and never sent.

use async_graphql::ErrorExtensions;

use crate::private_data::FieldError;

/// Why an operation failed.
///
/// Deliberately not `Display`: async-graphql turns every displayable error into a GraphQL error
/// without a code, so `?` would lose the code; this type converts only through its own `From`.
#[derive(Debug)]
#[non_exhaustive]
pub enum ApiError {
    /// No valid credential where one is needed, or a credential that is no longer valid.
    Unauthenticated(&'static str),
    /// The caller may not do this.
    Forbidden,
    /// The input is wrong; `fields` names each invalid field.
    BadInput {
        /// What is wrong.
        message: String,
        /// The invalid fields.
        fields: Vec<FieldError>,
    },
    /// What was asked for does not exist.
    NotFound(&'static str),
    /// The change conflicts with what is stored.
    Conflict(&'static str),
    /// Too many attempts; retry later.
    TooManyRequests,
    /// The chain refused the transaction; the message is the chain's.
    Rejected(String),
    /// The instance cannot do this (it has no key to sign the cooperative's transactions).
    Unavailable(&'static str),
    /// A failure of the instance, not of the request.
    Internal(Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    /// Bad input described by `message`, with no field named.
    pub fn bad_input(message: impl Into<String>) -> Self {
        Self::BadInput {
            message: message.into(),
            fields: Vec::new(),
        }
    }

    /// An internal failure caused by `source`.
    pub fn internal(source: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Internal(Box::new(source))
    }

    /// The message safe to show to the caller.
    pub fn message(&self) -> String {
        match self {
            Self::Unauthenticated(message)
            | Self::Conflict(message)
            | Self::Unavailable(message) => (*message).to_owned(),
            Self::Rejected(message) => format!("the chain refused the transaction: {message}"),
            Self::Forbidden => "not allowed for this caller".to_owned(),
            Self::BadInput { message, .. } => message.clone(),
            Self::NotFound(what) => format!("{what} not found"),
            Self::TooManyRequests => "too many attempts, retry in a minute".to_owned(),
            Self::Internal(_) => "internal error".to_owned(),
        }
    }

    /// The `extensions.code` of the error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated(_) => "UNAUTHENTICATED",
            Self::Forbidden => "FORBIDDEN",
            Self::BadInput { .. } => "BAD_USER_INPUT",
            Self::NotFound(_) => "NOT_FOUND",
            Self::Conflict(_) => "CONFLICT",
            Self::TooManyRequests => "TOO_MANY_REQUESTS",
            Self::Rejected(_) => "CHAIN_REJECTED",
            Self::Unavailable(_) => "UNAVAILABLE",
            Self::Internal(_) => "INTERNAL",
        }
    }
}

impl From<crate::registry::Error> for ApiError {
    fn from(err: crate::registry::Error) -> Self {
        Self::internal(err)
    }
}

impl From<crate::registry::roles::Error> for ApiError {
    fn from(err: crate::registry::roles::Error) -> Self {
        Self::internal(err)
    }
}

impl From<crate::store::Error> for ApiError {
    fn from(err: crate::store::Error) -> Self {
        Self::internal(err)
    }
}

impl From<crate::chain::push::Error> for ApiError {
    fn from(err: crate::chain::push::Error) -> Self {
        match err {
            crate::chain::push::Error::Rejected { message, .. } => Self::Rejected(message),
            other => Self::internal(other),
        }
    }
}

impl From<crate::factory::inputs::Error> for ApiError {
    fn from(err: crate::factory::inputs::Error) -> Self {
        use crate::factory::inputs::Error;
        match err {
            // The data a document is built from is the caller's to provide.
            Error::Missing { .. } | Error::Recipe { .. } => Self::bad_input(err.to_string()),
            other => Self::internal(other),
        }
    }
}

impl From<crate::factory::store::Error> for ApiError {
    fn from(err: crate::factory::store::Error) -> Self {
        Self::internal(err)
    }
}

impl From<crate::factory::keys::Error> for ApiError {
    fn from(err: crate::factory::keys::Error) -> Self {
        Self::internal(err)
    }
}

impl From<Vec<FieldError>> for ApiError {
    fn from(fields: Vec<FieldError>) -> Self {
        Self::BadInput {
            message: "invalid fields".to_owned(),
            fields,
        }
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(err: ApiError) -> Self {
        let message = match &err {
            ApiError::Internal(source) => {
                let error_id = error_id();
                // The one place an internal failure is logged; the client gets only the id.
                tracing::error!(error_id, error = %ErrorChain(source.as_ref()), "API request failed");
                format!("internal error (id {error_id})")
            }
            other => other.message(),
        };
        let code = err.code();
        let fields = match &err {
            ApiError::BadInput { fields, .. } => fields.clone(),
            _ => Vec::new(),
        };
        async_graphql::Error::new(message).extend_with(|_, extensions| {
            extensions.set("code", code);
            if !fields.is_empty() {
                let list: Vec<serde_json::Value> = fields
                    .iter()
                    .map(|field| {
                        serde_json::json!({"field": field.field, "message": field.reason.to_string()})
                    })
                    .collect();
                if let Ok(value) = async_graphql::Value::from_json(serde_json::Value::Array(list)) {
                    extensions.set("fields", value);
                }
            }
        })
    }
}

/// A short random id naming one internal failure in the log and in the answer.
fn error_id() -> String {
    let mut bytes = [0_u8; 6];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut bytes);
    hex::encode(bytes)
}

/// Displays an error with its causes, `a: b: c`.
struct ErrorChain<'a>(&'a (dyn std::error::Error + 'static));

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::private_data::Invalid;

    fn extensions(err: ApiError) -> serde_json::Value {
        let err: async_graphql::Error = err.into();
        serde_json::to_value(err.extensions).expect("serializes")
    }

    #[test]
    fn codes_and_fields_reach_the_extensions() {
        assert_eq!(extensions(ApiError::Forbidden)["code"], "FORBIDDEN");
        let fields = extensions(ApiError::from(vec![FieldError {
            field: "details.bik".to_owned(),
            reason: Invalid::CheckDigit,
        }]));
        assert_eq!(fields["code"], "BAD_USER_INPUT");
        assert_eq!(fields["fields"][0]["field"], "details.bik");
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        let cause = std::io::Error::other("password=hunter2");
        let err: async_graphql::Error = ApiError::internal(cause).into();
        assert!(
            err.message.starts_with("internal error (id "),
            "{}",
            err.message
        );
        assert!(!err.message.contains("hunter2"));
    }
}

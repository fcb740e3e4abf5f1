//! Who sends a request. As with the API server's static token authentication, bearer tokens
//! stand for users with groups; the fake hands them out ([`crate::FakeKube::client_as`]). A
//! request without a token comes from the cluster's administrator, in `system:masters`.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

/// An authenticated user, as admission sees `request.userInfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// `request.userInfo.username`, such as `system:serviceaccount:mono-system:mono-operator`.
    pub username: String,
    /// `request.userInfo.groups`; `system:authenticated` is always among them.
    pub groups: Vec<String>,
}

impl User {
    /// The administrator a request without a token comes from.
    pub(crate) fn admin() -> Self {
        Self::new("kubernetes-admin", &["system:masters"])
    }

    /// A user of these groups, and of `system:authenticated` as every authenticated user is.
    pub fn new(username: &str, groups: &[&str]) -> Self {
        let mut groups: Vec<String> = groups.iter().map(|&group| group.to_owned()).collect();
        groups.push("system:authenticated".to_owned());
        Self {
            username: username.to_owned(),
            groups,
        }
    }
}

/// The tokens handed out, and whose they are.
#[derive(Debug, Default)]
pub(crate) struct Users {
    tokens: Mutex<HashMap<String, User>>,
}

impl Users {
    /// A new token standing for `user`.
    pub(crate) fn token_for(&self, user: User) -> String {
        let mut tokens = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
        let token = format!("fake-token-{}", tokens.len() + 1);
        tokens.insert(token.clone(), user);
        token
    }

    /// Whose `token` is, if it was handed out.
    pub(crate) fn find(&self, token: &str) -> Option<User> {
        self.tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(token)
            .cloned()
    }
}

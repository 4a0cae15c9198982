//! Bearer tokens per role (spec §11): `viewer` reads, `technician` may also
//! mark arrival, `operator` may also acknowledge and plan maintenance,
//! `admin` may do everything.
//!
//! Tokens come from files (`[http] viewer_token_file`, ...) or from the
//! environment (`RETROFIT_TOKEN_VIEWER`, ...), are compared in constant
//! time and never logged. A role without a token cannot be used: its
//! routes answer 401, never open.

use axum::http::header::AUTHORIZATION;
use axum::http::HeaderMap;
use serde::Serialize;
use subtle::ConstantTimeEq as _;

use super::error::ApiError;

/// What a caller may do, each role including the ones below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Viewer,
    Technician,
    Operator,
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Technician, Role::Operator, Role::Admin];

    pub fn name(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Technician => "technician",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    /// The environment variable that may hold this role's token.
    pub fn env_var(self) -> String {
        format!("RETROFIT_TOKEN_{}", self.name().to_ascii_uppercase())
    }
}

/// The configured token of each role (never printed).
#[derive(Clone, Default)]
pub struct Tokens {
    by_role: Vec<(Role, String)>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let roles: Vec<&str> = self.by_role.iter().map(|(r, _)| r.name()).collect();
        write!(f, "Tokens({roles:?}, <redacted>)")
    }
}

impl Tokens {
    /// Adds `role`'s token; empty tokens are ignored (they would open it).
    pub fn with(mut self, role: Role, token: &str) -> Self {
        if !token.is_empty() {
            self.by_role.retain(|(r, _)| *r != role);
            self.by_role.push((role, token.to_string()));
        }
        self
    }

    /// Roles that have no token (and so cannot be used).
    pub fn missing(&self) -> Vec<Role> {
        Role::ALL
            .into_iter()
            .filter(|r| !self.by_role.iter().any(|(have, _)| have == r))
            .collect()
    }

    /// The role of the request's bearer token, or 401.
    pub fn role_of(&self, headers: &HeaderMap) -> Result<Role, ApiError> {
        let presented = headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| ApiError::unauthorized("a bearer token is required"))?
            .trim()
            .as_bytes();
        // Every configured token is compared, so timing tells nothing of
        // which one (or whether any) matched.
        let mut found = None;
        for (role, token) in &self.by_role {
            if bool::from(token.as_bytes().ct_eq(presented)) {
                found = found.max(Some(*role));
            }
        }
        found.ok_or_else(|| ApiError::unauthorized("unknown token"))
    }

    /// The request's role if it is at least `needed`: 401 without a valid
    /// token, 403 with a lesser one.
    pub fn require(&self, headers: &HeaderMap, needed: Role) -> Result<Role, ApiError> {
        let role = self.role_of(headers)?;
        if role >= needed {
            Ok(role)
        } else {
            Err(ApiError::forbidden(format!(
                "role {} may not do this; it needs {} or above",
                role.name(),
                needed.name()
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn bearer(token: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
        );
        h
    }

    #[test]
    fn roles_include_those_below_and_missing_tokens_never_open() {
        let tokens = Tokens::default()
            .with(Role::Viewer, "view-secret")
            .with(Role::Operator, "op-secret")
            .with(Role::Admin, "");
        assert_eq!(tokens.missing(), vec![Role::Technician, Role::Admin]);
        let role = |t: &str, needed| tokens.require(&bearer(t), needed);
        assert_eq!(role("op-secret", Role::Technician).unwrap(), Role::Operator);
        assert_eq!(
            role("view-secret", Role::Technician).unwrap_err().status,
            403
        );
        assert_eq!(role("view-secre", Role::Viewer).unwrap_err().status, 401);
        assert_eq!(role("", Role::Viewer).unwrap_err().status, 401);
        let none = tokens.require(&HeaderMap::new(), Role::Viewer);
        assert_eq!(none.unwrap_err().status, 401);
        assert!(!format!("{tokens:?}").contains("secret"));
    }
}

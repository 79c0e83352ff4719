//! CSRF protection for every state-changing form.
//!
//! A form carries a token derived with HMAC-SHA256 from a server key and the visitor's
//! session token, or, before sign-in, from a random pre-session cookie. An attacker's page
//! can make a browser send the cookies but cannot read them, so it cannot compute the token.
//! The token needs no storage: any instance with the same key checks it.

use std::fmt;
use std::sync::Arc;

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use rand::RngCore as _;
use sha2::{Digest, Sha256};

use super::pages::PageError;
use super::AppState;

/// The cookie holding the core session token.
pub(crate) const SESSION_COOKIE: &str = "medtrack_session";
/// The cookie that binds forms shown before sign-in.
pub(crate) const PRE_SESSION_COOKIE: &str = "medtrack_presession";
/// The form field that carries the token.
pub(crate) const FIELD: &str = "csrf";

/// The key CSRF tokens are derived with. Never printed.
#[derive(Clone)]
pub struct CsrfKey(Arc<[u8; 32]>);

impl CsrfKey {
    /// A fresh random key: forms rendered before a restart are refused after it.
    pub fn random() -> Self {
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        Self(Arc::new(key))
    }

    /// A key derived from a configured secret, so that several instances agree.
    pub fn from_secret(secret: &str) -> Self {
        Self(Arc::new(Sha256::digest(secret.as_bytes()).into()))
    }

    fn mac(&self, binding: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.0.as_slice())
            .expect("HMAC takes a key of any length");
        mac.update(b"medtrack form\0");
        mac.update(binding.as_bytes());
        mac
    }

    /// The token for forms shown to the holder of `binding`.
    pub(crate) fn token(&self, binding: &str) -> String {
        URL_SAFE_NO_PAD.encode(self.mac(binding).finalize().into_bytes())
    }

    /// Whether `token` was made for `binding`, compared in constant time.
    pub(crate) fn verify(&self, binding: &str, token: &str) -> bool {
        match URL_SAFE_NO_PAD.decode(token) {
            Ok(bytes) => self.mac(binding).verify_slice(&bytes).is_ok(),
            Err(_) => false,
        }
    }
}

impl fmt::Debug for CsrfKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CsrfKey(<redacted>)")
    }
}

/// What a form is bound to: the session token when there is one, else the pre-session value.
pub(crate) fn binding(jar: &CookieJar) -> Option<String> {
    jar.get(SESSION_COOKIE)
        .or_else(|| jar.get(PRE_SESSION_COOKIE))
        .map(|cookie| cookie.value().to_owned())
}

/// A cookie that deletes `name`, with the same attributes it was set with.
pub(crate) fn removal(name: &'static str, secure: bool) -> Cookie<'static> {
    let mut cookie = Cookie::build((name, ""))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .build();
    cookie.make_removal();
    cookie
}

/// Makes sure an anonymous visitor has a pre-session cookie and drops a stale session cookie,
/// returning the jar to send back and the token for the forms on the page.
pub(crate) fn anonymous(key: &CsrfKey, jar: CookieJar, secure: bool) -> (CookieJar, String) {
    let jar = match jar.get(SESSION_COOKIE) {
        Some(_) => jar.add(removal(SESSION_COOKIE, secure)),
        None => jar,
    };
    let (jar, value) = match jar.get(PRE_SESSION_COOKIE) {
        Some(cookie) => {
            let value = cookie.value().to_owned();
            (jar, value)
        }
        None => {
            let mut bytes = [0u8; 24];
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            let value = URL_SAFE_NO_PAD.encode(bytes);
            let cookie = Cookie::build((PRE_SESSION_COOKIE, value.clone()))
                .path("/")
                .http_only(true)
                .same_site(SameSite::Lax)
                .secure(secure)
                .build();
            (jar.add(cookie), value)
        }
    };
    let token = key.token(&value);
    (jar, token)
}

/// Refuses a state-changing request to the pages whose form lacks a valid token.
pub(crate) async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    let jar = CookieJar::from_headers(request.headers());
    let (parts, body) = request.into_parts();
    let bytes = match to_bytes(body, state.config.max_body_bytes).await {
        Ok(bytes) => bytes,
        Err(_) => return PageError::status(StatusCode::PAYLOAD_TOO_LARGE).into_response(),
    };
    let token = form_urlencoded::parse(&bytes)
        .find(|(name, _)| name == FIELD)
        .map(|(_, value)| value.into_owned());
    let valid = match (binding(&jar), token) {
        (Some(binding), Some(token)) => state.config.csrf_key.verify(&binding, &token),
        _ => false,
    };
    if !valid {
        tracing::warn!(method = %parts.method, "form refused: missing or wrong CSRF token");
        return PageError::status(StatusCode::FORBIDDEN).into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_verifies_only_for_its_binding_and_key() {
        let key = CsrfKey::random();
        let token = key.token("session-a");
        assert!(key.verify("session-a", &token));
        assert!(!key.verify("session-b", &token));
        assert!(!CsrfKey::random().verify("session-a", &token));
        assert!(!key.verify("session-a", "not base64 !"));
    }

    #[test]
    fn the_key_is_not_printed() {
        let key = CsrfKey::from_secret("hunter2-hunter2");
        assert_eq!(format!("{key:?}"), "CsrfKey(<redacted>)");
    }
}

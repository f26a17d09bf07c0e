//! Who is asking: the session cookie (HttpOnly, SameSite=Strict, Secure behind TLS) or an
//! `Authorization: Bearer` API token, turned into a [`CurrentUser`]; [`RequireEditor`] and
//! [`RequireAdmin`] refuse everyone else before a handler runs. Login, logout and `me`.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, RequestPartsExt};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::error::{ApiError, ApiJson};
use crate::acl::Acl;
use crate::store::audit;
use crate::store::users::{self, User};

pub(super) const SESSION_COOKIE: &str = "appliance_session";

/// The logged-in user.
pub struct CurrentUser(pub User);

impl CurrentUser {
    pub fn acl(&self) -> Acl {
        self.0.acl()
    }
}

/// A logged-in editor or admin.
pub struct RequireEditor(pub User);

/// A logged-in admin.
pub struct RequireAdmin(pub User);

pub(super) fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
}

/// The token of an `Authorization: Bearer` header (API clients).
pub(super) fn bearer_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(|token| token.trim().to_owned())
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let store = state.engine.store();
        if let Some(token) = bearer_token(&parts.headers) {
            let user = users::token_user(store, &token).await?;
            return user.map(CurrentUser).ok_or(ApiError::Unauthorized);
        }
        let token = session_token(&parts.headers).ok_or(ApiError::Unauthorized)?;
        let user = users::session_user(store, &token).await?;
        user.map(CurrentUser).ok_or(ApiError::Unauthorized)
    }
}

impl FromRequestParts<AppState> for RequireEditor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let CurrentUser(user) = parts.extract_with_state::<CurrentUser, _>(state).await?;
        if !user.acl().may_upload() {
            return Err(ApiError::Forbidden);
        }
        Ok(Self(user))
    }
}

impl FromRequestParts<AppState> for RequireAdmin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let CurrentUser(user) = parts.extract_with_state::<CurrentUser, _>(state).await?;
        if !user.is_admin() {
            return Err(ApiError::Forbidden);
        }
        Ok(Self(user))
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct LoginRequest {
    username: String,
    password: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Ok {
    ok: bool,
}

/// `; Secure` when the browser reached us over TLS (a terminating proxy says so with
/// `X-Forwarded-Proto: https`) or the settings force it.
fn secure_flag(state: &AppState, headers: &HeaderMap) -> &'static str {
    let forwarded_https = headers
        .get("x-forwarded-proto")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|proto| proto.eq_ignore_ascii_case("https"));
    if state.engine.settings().secure_cookies || forwarded_https {
        "; Secure"
    } else {
        ""
    }
}

/// Logs in; sets the session cookie.
#[utoipa::path(post, path = "/api/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = User), (status = 400, body = super::error::ErrorBody),
        (status = 429, description = "Locked after repeated failures")))]
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<LoginRequest>,
) -> Result<Response, ApiError> {
    let store = state.engine.store();
    let now = std::time::Instant::now();
    if let Some(remaining) = state.throttle.locked_for(&request.username, now) {
        audit::append(store, &request.username, "login.locked", serde_json::json!({})).await?;
        return Err(ApiError::TooManyRequests(format!(
            "too many failed logins; try again in {} minutes",
            remaining.as_secs().div_ceil(60)
        )));
    }
    let Some(user) = users::authenticate(store, &request.username, &request.password).await? else {
        let locked = state.throttle.failed(&request.username, now);
        audit::append(
            store,
            &request.username,
            "login.failed",
            serde_json::json!({ "locked": locked }),
        )
        .await?;
        return Err(ApiError::BadRequest("wrong user name or password".into()));
    };
    state.throttle.succeeded(&request.username);
    let token = users::create_session(store, &user).await?;
    audit::append(store, &user.username, "login", serde_json::json!({})).await?;
    // Always a fresh token: a cookie planted before login never becomes a session.
    let cookie = format!(
        "{SESSION_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{}",
        users::SESSION_SECONDS,
        secure_flag(&state, &headers)
    );
    Ok(([(header::SET_COOKIE, cookie)], Json(user)).into_response())
}

/// Ends the session.
#[utoipa::path(post, path = "/api/logout", tag = "auth", responses((status = 200, body = Ok)))]
pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(token) = session_token(&headers) {
        users::end_session(state.engine.store(), &token).await?;
    }
    let cookie = format!(
        "{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{}",
        secure_flag(&state, &headers)
    );
    Ok(([(header::SET_COOKIE, cookie)], Json(Ok { ok: true })).into_response())
}

/// The logged-in user.
#[utoipa::path(get, path = "/api/me", tag = "auth", responses((status = 200, body = User), (status = 401)))]
pub async fn me(CurrentUser(user): CurrentUser) -> Json<User> {
    Json(user)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; appliance_session=abc; b=2"),
        );
        assert_eq!(session_token(&headers).as_deref(), Some("abc"));
        assert_eq!(session_token(&HeaderMap::new()), None);
    }
}

//! User accounts (argon2id password hashes) and login sessions.

use anyhow::{Context, bail};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::Rng;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;

use super::Store;
use crate::acl::{Acl, Role};

/// Session lifetime.
pub const SESSION_SECONDS: i64 = 8 * 3600;

/// A user as the rest of the appliance sees it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub role: Role,
    pub groups: Vec<String>,
    pub disabled: bool,
}

impl User {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// What this user may read and manage.
    pub fn acl(&self) -> Acl {
        Acl::new(self.role, &self.groups)
    }
}

/// argon2id with OWASP's minimum parameters (19 MiB, 2 iterations, 1 lane).
fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

pub fn hash_password(password: &str) -> anyhow::Result<String> {
    if password.chars().count() < 8 {
        bail!("the password must have at least 8 characters");
    }
    let salt_bytes: [u8; 16] = rand::rng().random();
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|error| anyhow::anyhow!("{error}"))?;
    Ok(hasher()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|error| anyhow::anyhow!("hashing the password: {error}"))?
        .to_string())
}

fn password_matches(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|parsed| hasher().verify_password(password.as_bytes(), &parsed).is_ok())
        .unwrap_or(false)
}

/// A random password for the first administrator.
pub fn random_password() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut rng = rand::rng();
    (0..16)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

fn user_from_row(row: &sqlx::any::AnyRow) -> User {
    let groups_json: String = row.get("groups_json");
    User {
        id: row.get("id"),
        username: row.get("username"),
        // The column's CHECK constraint admits only the three names; anything else reads
        // as the least privileged role.
        role: row.get::<&str, _>("role").parse().unwrap_or(Role::Employee),
        groups: serde_json::from_str(&groups_json).unwrap_or_default(),
        disabled: row.get::<i64, _>("disabled") != 0,
    }
}

pub async fn add(store: &Store, username: &str, password: &str, role: Role, groups: &[String]) -> anyhow::Result<User> {
    if username.trim().is_empty() || username.chars().any(char::is_control) {
        bail!("the user name must be non-empty printable text");
    }
    // argon2id takes tens of milliseconds of CPU: not on the async runtime.
    let owned = password.to_owned();
    let hash = tokio::task::spawn_blocking(move || hash_password(&owned)).await??;
    let id = sqlx::query_scalar(
        "INSERT INTO users (username, password_hash, role, groups_json) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(username)
    .bind(hash)
    .bind(role.as_str())
    .bind(serde_json::to_string(groups)?)
    .fetch_one(&store.pool)
    .await
    .with_context(|| format!("adding user {username:?} (does it exist already?)"))?;
    Ok(User {
        id,
        username: username.to_owned(),
        role,
        groups: groups.to_vec(),
        disabled: false,
    })
}

pub async fn list(store: &Store) -> anyhow::Result<Vec<User>> {
    let rows = sqlx::query("SELECT id, username, role, groups_json, disabled FROM users ORDER BY username")
        .fetch_all(&store.pool)
        .await?;
    Ok(rows.iter().map(user_from_row).collect())
}

pub async fn set_password(store: &Store, username: &str, password: &str) -> anyhow::Result<()> {
    // argon2id takes tens of milliseconds of CPU: not on the async runtime.
    let owned = password.to_owned();
    let hash = tokio::task::spawn_blocking(move || hash_password(&owned)).await??;
    let changed = sqlx::query("UPDATE users SET password_hash = $1 WHERE username = $2")
        .bind(hash)
        .bind(username)
        .execute(&store.pool)
        .await?
        .rows_affected();
    if changed == 0 {
        bail!("no user named {username:?}");
    }
    sqlx::query("DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE username = $1)")
        .bind(username)
        .execute(&store.pool)
        .await?;
    Ok(())
}

/// The user if `password` is right and the account is enabled.
pub async fn authenticate(store: &Store, username: &str, password: &str) -> anyhow::Result<Option<User>> {
    let row =
        sqlx::query("SELECT id, username, role, groups_json, disabled, password_hash FROM users WHERE username = $1")
            .bind(username)
            .fetch_optional(&store.pool)
            .await?;
    let Some(row) = row else {
        // Spend the same time as a real check so user names cannot be probed by timing.
        tokio::task::spawn_blocking(|| hash_password("timing-equaliser")).await??;
        return Ok(None);
    };
    let stored: String = row.get("password_hash");
    let user = user_from_row(&row);
    let password = password.to_owned();
    let matches = tokio::task::spawn_blocking(move || password_matches(&password, &stored)).await?;
    Ok((matches && !user.disabled).then_some(user))
}

fn token_digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|duration| duration.as_secs() as i64)
        .unwrap_or_default()
}

/// Sets a user's role, groups and disabled flag; a disabled user's sessions end.
pub async fn update(
    store: &Store,
    id: i64,
    role: Role,
    groups: &[String],
    disabled: bool,
) -> anyhow::Result<Option<User>> {
    let changed = sqlx::query("UPDATE users SET role = $1, groups_json = $2, disabled = $3 WHERE id = $4")
        .bind(role.as_str())
        .bind(serde_json::to_string(groups)?)
        .bind(i64::from(disabled))
        .bind(id)
        .execute(&store.pool)
        .await?
        .rows_affected();
    if changed == 0 {
        return Ok(None);
    }
    if disabled {
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(id)
            .execute(&store.pool)
            .await?;
    }
    let row = sqlx::query("SELECT id, username, role, groups_json, disabled FROM users WHERE id = $1")
        .bind(id)
        .fetch_one(&store.pool)
        .await?;
    Ok(Some(user_from_row(&row)))
}

/// Prefix of API tokens, so a leaked one is recognisable in logs and scanners.
const TOKEN_PREFIX: &str = "apl_";

/// A new API token for `user`; only its hash is stored, the token is shown once.
pub async fn create_token(store: &Store, user: &User, name: &str) -> anyhow::Result<(i64, String)> {
    let token = format!("{TOKEN_PREFIX}{}", hex::encode(rand::rng().random::<[u8; 32]>()));
    let id =
        sqlx::query_scalar("INSERT INTO api_tokens (user_id, name, token_sha256) VALUES ($1, $2, $3) RETURNING id")
            .bind(user.id)
            .bind(name)
            .bind(token_digest(&token))
            .fetch_one(&store.pool)
            .await?;
    Ok((id, token))
}

/// An API token as its owner sees it: never the token itself, which is not stored.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct TokenInfo {
    pub id: i64,
    pub name: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

/// The user's tokens (names and dates, never the tokens).
pub async fn list_tokens(store: &Store, user: &User) -> anyhow::Result<Vec<TokenInfo>> {
    let rows = sqlx::query("SELECT id, name, created_at, last_used_at FROM api_tokens WHERE user_id = $1 ORDER BY id")
        .bind(user.id)
        .fetch_all(&store.pool)
        .await?;
    Ok(rows
        .iter()
        .map(|row| TokenInfo {
            id: row.get("id"),
            name: row.get("name"),
            created_at: row.get("created_at"),
            last_used_at: row.get("last_used_at"),
        })
        .collect())
}

pub async fn delete_token(store: &Store, user: &User, id: i64) -> anyhow::Result<bool> {
    Ok(sqlx::query("DELETE FROM api_tokens WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(user.id)
        .execute(&store.pool)
        .await?
        .rows_affected()
        > 0)
}

/// The enabled user an API token belongs to.
pub async fn token_user(store: &Store, token: &str) -> anyhow::Result<Option<User>> {
    if !token.starts_with(TOKEN_PREFIX) {
        return Ok(None);
    }
    let digest = token_digest(token);
    let row = sqlx::query(
        "SELECT users.id, username, role, groups_json, disabled FROM api_tokens \
         JOIN users ON users.id = api_tokens.user_id WHERE token_sha256 = $1",
    )
    .bind(&digest)
    .fetch_optional(&store.pool)
    .await?;
    let user = row.map(|row| user_from_row(&row)).filter(|user| !user.disabled);
    if user.is_some() {
        let touch = format!(
            "UPDATE api_tokens SET last_used_at = {} WHERE token_sha256 = $1",
            store.now()
        );
        sqlx::query(&touch).bind(&digest).execute(&store.pool).await?;
    }
    Ok(user)
}

/// A new session for `user`; only the token's hash is stored.
pub async fn create_session(store: &Store, user: &User) -> anyhow::Result<String> {
    let token = hex::encode(rand::rng().random::<[u8; 32]>());
    sqlx::query("INSERT INTO sessions (token_sha256, user_id, expires_at) VALUES ($1, $2, $3)")
        .bind(token_digest(&token))
        .bind(user.id)
        .bind(unix_now() + SESSION_SECONDS)
        .execute(&store.pool)
        .await?;
    Ok(token)
}

pub async fn session_user(store: &Store, token: &str) -> anyhow::Result<Option<User>> {
    let row = sqlx::query(
        "SELECT users.id, username, role, groups_json, disabled FROM sessions \
         JOIN users ON users.id = sessions.user_id WHERE token_sha256 = $1 AND expires_at > $2",
    )
    .bind(token_digest(token))
    .bind(unix_now())
    .fetch_optional(&store.pool)
    .await?;
    Ok(row.map(|row| user_from_row(&row)).filter(|user| !user.disabled))
}

pub async fn end_session(store: &Store, token: &str) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM sessions WHERE token_sha256 = $1")
        .bind(token_digest(token))
        .execute(&store.pool)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn login_and_sessions() {
        for test in crate::store::testing::stores().await {
            let pool = test.store.clone();
            assert!(add(&pool, "bob", "short", Role::Employee, &[]).await.is_err());
            let bob = add(&pool, "bob", "correct horse", Role::Employee, &["hr".into()])
                .await
                .unwrap();
            assert!(
                add(&pool, "bob", "another password", Role::Employee, &[])
                    .await
                    .is_err(),
                "duplicate"
            );
            assert_eq!(
                authenticate(&pool, "bob", "correct horse").await.unwrap(),
                Some(bob.clone())
            );
            assert_eq!(authenticate(&pool, "bob", "wrong horse!").await.unwrap(), None);
            assert_eq!(authenticate(&pool, "nobody", "correct horse").await.unwrap(), None);
            let token = create_session(&pool, &bob).await.unwrap();
            assert_eq!(session_user(&pool, &token).await.unwrap(), Some(bob));
            set_password(&pool, "bob", "battery staple").await.unwrap();
            assert_eq!(
                session_user(&pool, &token).await.unwrap(),
                None,
                "password change ends sessions"
            );
            let stored: String = sqlx::query_scalar("SELECT password_hash FROM users")
                .fetch_one(&pool.pool)
                .await
                .unwrap();
            assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{stored}");
        }
    }
}

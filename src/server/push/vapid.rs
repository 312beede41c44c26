//! VAPID (RFC 8292): the server proves to push services that it is the one a browser
//! subscribed for. The key pair is made on first start and kept in the database: every
//! subscription is bound to the public key it was made with, so a new key would make
//! all of them useless.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};

use crate::server::store::{PushStore, StoreError, StoreResult};

/// How long a token stays valid. RFC 8292 allows at most 24 hours; half of that leaves
/// room for a clock that runs ahead.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(12 * 3600);

/// A token is used again for this long (so it has at least 11 hours left): one ECDSA
/// signature per push service an hour, not one per push.
const TOKEN_REUSE: Duration = Duration::from_secs(3600);

/// Audiences whose token is kept, at most.
const MAX_AUDIENCES: usize = 64;

/// The server's VAPID identity.
pub struct Vapid {
    key: SigningKey,
    /// The public key as browsers want it (`applicationServerKey`) and as the `k`
    /// parameter carries it: the uncompressed point, base64url without padding.
    public: String,
    /// Who push services may contact about this server's pushes (`sub`).
    contact: String,
    /// The `Authorization` value last made per audience, and when (Unix seconds).
    tokens: Mutex<HashMap<String, (u64, String)>>,
}

impl Vapid {
    /// The kept key, or a new one kept now.
    pub async fn load_or_make(store: &dyn PushStore, contact: &str) -> StoreResult<Vapid> {
        let secret = match store.vapid_key().await? {
            Some(secret) => secret,
            None => {
                let made = new_secret();
                let now = crate::server::clock::now_ms();
                store.keep_vapid_key(&made, now).await?
            }
        };
        Vapid::from_secret(&secret, contact).map_err(StoreError::new)
    }

    /// From the private scalar (32 bytes, big-endian).
    pub fn from_secret(secret: &[u8], contact: &str) -> Result<Vapid, p256::ecdsa::Error> {
        let key = SigningKey::from_slice(secret)?;
        let point = key.verifying_key().to_encoded_point(false);
        Ok(Vapid {
            public: B64URL.encode(point.as_bytes()),
            key,
            contact: contact.to_owned(),
            tokens: Mutex::default(),
        })
    }

    /// The public key, base64url: the page's `applicationServerKey`.
    pub fn public_key(&self) -> &str {
        &self.public
    }

    /// The `Authorization` header for a push to `endpoint` at `now_secs` (Unix time):
    /// `vapid t=<JWT>, k=<public key>`.
    pub fn authorization(&self, endpoint: &reqwest::Url, now_secs: u64) -> String {
        let audience = endpoint.origin().ascii_serialization();
        let mut tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((made, value)) = tokens.get(&audience) {
            if now_secs >= *made && now_secs - made < TOKEN_REUSE.as_secs() {
                return value.clone();
            }
        }
        let expires = now_secs + TOKEN_LIFETIME.as_secs();
        let value = format!(
            "vapid t={}, k={}",
            self.token(&audience, expires),
            self.public
        );
        // Push services are few (a handful per browser vendor), but endpoints are users'
        // to choose: the map is kept small whatever they choose.
        if tokens.len() >= MAX_AUDIENCES {
            tokens.retain(|_, (made, _)| now_secs.saturating_sub(*made) < TOKEN_REUSE.as_secs());
            if tokens.len() >= MAX_AUDIENCES {
                tokens.clear();
            }
        }
        tokens.insert(audience, (now_secs, value.clone()));
        value
    }

    /// An ES256 JWT: `aud` the push service's origin, `exp`, `sub` the contact.
    fn token(&self, audience: &str, expires: u64) -> String {
        let header = B64URL.encode(br#"{"typ":"JWT","alg":"ES256"}"#);
        let claims = serde_json::json!({ "aud": audience, "exp": expires, "sub": self.contact });
        let signing_input = format!("{header}.{}", B64URL.encode(claims.to_string()));
        // JWS's ES256 signature is r and s, 32 bytes each (not DER).
        let signature: Signature = self.key.sign(signing_input.as_bytes());
        format!("{signing_input}.{}", B64URL.encode(signature.to_bytes()))
    }
}

/// A fresh private scalar: 32 random bytes, drawn again in the (vanishing) case they are
/// not a valid P-256 scalar.
fn new_secret() -> Vec<u8> {
    loop {
        let bytes: [u8; 32] = rand::random();
        if SigningKey::from_slice(&bytes).is_ok() {
            return bytes.to_vec();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Verifier;
    use p256::ecdsa::VerifyingKey;

    #[test]
    fn the_token_is_a_signed_jwt_for_the_push_service() {
        let vapid = Vapid::from_secret(&new_secret(), "mailto:ops@example.com").unwrap();
        let endpoint = reqwest::Url::parse("https://push.example.net:8443/wpush/v2/abc").unwrap();
        let now = 1_700_000_000;
        let header = vapid.authorization(&endpoint, now);

        let rest = header.strip_prefix("vapid t=").unwrap();
        let (jwt, k) = rest.split_once(", k=").unwrap();
        assert_eq!(k, vapid.public_key());
        let public = B64URL.decode(k).unwrap();
        assert_eq!(
            (public.len(), public[0]),
            (65, 4),
            "uncompressed P-256 point"
        );

        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let head: serde_json::Value =
            serde_json::from_slice(&B64URL.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(head["alg"], "ES256");
        let claims: serde_json::Value =
            serde_json::from_slice(&B64URL.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["aud"], "https://push.example.net:8443");
        assert_eq!(claims["sub"], "mailto:ops@example.com");
        let exp = claims["exp"].as_u64().unwrap();
        assert!(exp > now && exp <= now + 24 * 3600, "exp within 24 h");

        let key = VerifyingKey::from_sec1_bytes(&public).unwrap();
        let signature = Signature::from_slice(&B64URL.decode(parts[2]).unwrap()).unwrap();
        let signed = format!("{}.{}", parts[0], parts[1]);
        key.verify(signed.as_bytes(), &signature).unwrap();
    }

    #[test]
    fn the_audience_drops_the_default_port_and_path() {
        let vapid = Vapid::from_secret(&new_secret(), "mailto:a@b.c").unwrap();
        let endpoint = reqwest::Url::parse("https://fcm.googleapis.com:443/fcm/send/x").unwrap();
        let header = vapid.authorization(&endpoint, 0);
        let jwt = header
            .strip_prefix("vapid t=")
            .unwrap()
            .split(',')
            .next()
            .unwrap();
        let claims = B64URL.decode(jwt.split('.').nth(1).unwrap()).unwrap();
        let claims: serde_json::Value = serde_json::from_slice(&claims).unwrap();
        assert_eq!(claims["aud"], "https://fcm.googleapis.com");
    }

    #[test]
    fn a_token_is_used_again_for_an_hour_per_push_service() {
        let vapid = Vapid::from_secret(&new_secret(), "mailto:a@b.c").unwrap();
        let a = reqwest::Url::parse("https://a.example/x").unwrap();
        let b = reqwest::Url::parse("https://b.example/y").unwrap();
        let first = vapid.authorization(&a, 1000);
        assert_eq!(vapid.authorization(&a, 1000 + 3599), first);
        assert_ne!(vapid.authorization(&b, 1001), first, "another audience");
        assert_ne!(
            vapid.authorization(&a, 1000 + 3600),
            first,
            "an hour on: a new one"
        );
    }

    #[tokio::test]
    async fn the_key_is_made_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let first = {
            let store = crate::server::store::SqliteStore::open(&path)
                .await
                .unwrap();
            Vapid::load_or_make(&store, "mailto:a@b.c")
                .await
                .unwrap()
                .public
        };
        let store = crate::server::store::SqliteStore::open(&path)
            .await
            .unwrap();
        let again = Vapid::load_or_make(&store, "mailto:a@b.c").await.unwrap();
        assert_eq!(again.public, first, "a restart keeps the key");
    }
}

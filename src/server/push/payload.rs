//! What a push carries: the notice as JSON for the service worker, encrypted to the
//! browser's keys as RFC 8291 asks (`aes128gcm`, RFC 8188). The cryptography is
//! `web-push-native`'s (RustCrypto's P-256, HKDF and AES-GCM), tested there against RFC
//! 8291's example byte for byte and here against the same example's ciphertext.

use serde::Serialize;
use web_push_native::p256::PublicKey;

/// Room text is cut here: a push message holds at most 4 KiB after encryption, and the
/// whole message is in the room anyway.
const BODY_CHARS: usize = 300;

/// One thing to tell a user about: a message in a room.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushNotice {
    /// The room's slug: the notification opens `/r/<room>`.
    pub room: String,
    /// The message's seq in that room.
    pub seq: u64,
    /// E.g. "ana in #general" or "ana (direct message)".
    pub title: String,
    /// The message's text (cut to a few hundred characters).
    pub body: String,
}

/// The JSON the service worker reads (`push` handler in `http/sw.js`).
#[derive(Serialize)]
struct Payload<'a> {
    title: &'a str,
    body: String,
    /// Where a click goes.
    url: String,
    /// One notification per room: the next replaces it.
    tag: String,
    room: &'a str,
    seq: u64,
}

impl PushNotice {
    /// The plaintext of the push: JSON for the service worker.
    pub fn payload(&self) -> Vec<u8> {
        let payload = Payload {
            title: &self.title,
            body: self.body.chars().take(BODY_CHARS).collect(),
            url: format!("/r/{}", self.room),
            tag: format!("natter-{}", self.room),
            room: &self.room,
            seq: self.seq,
        };
        serde_json::to_vec(&payload).expect("plain data serialises")
    }
}

/// A subscription's keys that cannot be encrypted to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BadKeys {
    #[error("the p256dh key is not an uncompressed P-256 public key")]
    P256dh,
    #[error("the auth secret must be 16 bytes")]
    Auth,
}

/// Checks a subscription's keys as the browser sent them (raw bytes).
pub fn check_keys(p256dh: &[u8], auth: &[u8]) -> Result<(), BadKeys> {
    if p256dh.len() != 65 || PublicKey::from_sec1_bytes(p256dh).is_err() {
        return Err(BadKeys::P256dh);
    }
    if auth.len() != 16 {
        return Err(BadKeys::Auth);
    }
    Ok(())
}

/// Encrypts `plain` for the browser with these keys: one `aes128gcm` record with a fresh
/// salt and a fresh sender key pair (RFC 8291 §3).
pub fn encrypt(plain: &[u8], p256dh: &[u8], auth: &[u8]) -> Result<Vec<u8>, BadKeys> {
    check_keys(p256dh, auth)?;
    let public = PublicKey::from_sec1_bytes(p256dh).map_err(|_| BadKeys::P256dh)?;
    let auth = web_push_native::Auth::clone_from_slice(auth);
    // Fails only for a record over 4 GiB.
    web_push_native::encrypt(plain.to_vec(), &public, &auth).map_err(|_| BadKeys::P256dh)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
    use base64::Engine;
    use web_push_native::p256::SecretKey;

    // RFC 8291, Appendix A.
    const PLAINTEXT: &str = "When I grow up, I want to be a watermelon";
    const UA_PUBLIC: &str =
        "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
    const UA_PRIVATE: &str = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94";
    const AUTH: &str = "BTBZMqHH6r4Tts7J_aSIgg";
    const CIPHERTEXT: &str = "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN";

    fn b64(s: &str) -> Vec<u8> {
        B64URL.decode(s).unwrap()
    }

    fn decrypt(body: Vec<u8>) -> Vec<u8> {
        let ua = SecretKey::from_slice(&b64(UA_PRIVATE)).unwrap();
        let auth = web_push_native::Auth::clone_from_slice(&b64(AUTH));
        web_push_native::decrypt(body, &ua, &auth).unwrap()
    }

    #[test]
    fn rfc8291_example_decrypts() {
        // The same key schedule that encrypts: the RFC's ciphertext opens to its text.
        assert_eq!(decrypt(b64(CIPHERTEXT)), PLAINTEXT.as_bytes());
    }

    #[test]
    fn encrypts_to_the_rfc8291_example_keys() {
        let body = encrypt(PLAINTEXT.as_bytes(), &b64(UA_PUBLIC), &b64(AUTH)).unwrap();
        // salt (16) | record size (4) | key id length (1) = 65 | sender public key (65)
        assert_eq!(body[20], 65);
        assert_eq!(body[21], 4, "an uncompressed point");
        let record_size = u32::from_be_bytes(body[16..20].try_into().unwrap()) as usize;
        assert!(record_size >= PLAINTEXT.len() + 17, "one record");
        assert_eq!(
            body.len(),
            86 + PLAINTEXT.len() + 1 + 16,
            "text, delimiter, tag"
        );
        assert_eq!(decrypt(body.clone()), PLAINTEXT.as_bytes());
        let again = encrypt(PLAINTEXT.as_bytes(), &b64(UA_PUBLIC), &b64(AUTH)).unwrap();
        assert_ne!(body[..16], again[..16], "a fresh salt every time");
        assert_ne!(body[21..86], again[21..86], "a fresh sender key every time");
    }

    #[test]
    fn bad_keys_are_refused() {
        let auth = b64(AUTH);
        assert_eq!(check_keys(&b64(UA_PUBLIC), &auth), Ok(()));
        assert_eq!(check_keys(&[4; 65], &auth), Err(BadKeys::P256dh));
        assert_eq!(
            check_keys(&b64(UA_PUBLIC)[..33], &auth),
            Err(BadKeys::P256dh)
        );
        assert_eq!(check_keys(&b64(UA_PUBLIC), &auth[..8]), Err(BadKeys::Auth));
    }

    #[test]
    fn the_payload_is_what_the_service_worker_reads() {
        let notice = PushNotice {
            room: "general".into(),
            seq: 42,
            title: "ana in #general".into(),
            body: "x".repeat(1000),
        };
        let json: serde_json::Value = serde_json::from_slice(&notice.payload()).unwrap();
        assert_eq!(json["url"], "/r/general");
        assert_eq!(json["tag"], "natter-general");
        assert_eq!(json["seq"], 42);
        assert_eq!(json["title"], "ana in #general");
        assert_eq!(json["body"].as_str().unwrap().len(), BODY_CHARS);
    }
}

//! Who is who: guest names, registered accounts, and the sessions that prove both.
//!
//! Every browser that chats holds a session (a cookie, see [`session`]). A guest session
//! carries just a name; an account session belongs to a registered name that nobody else
//! may use, guest or not. The WebSocket is authorised by the same cookie.
//!
//! - [`password`]: the password policy and argon2id.
//! - [`session`]: tokens and the cookie.
//!
//! Login attempts are limited per account and per address (`rate_limit::keyed`).

pub mod password;
pub mod session;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::http::HeaderMap;

use crate::protocol::{AppError, Me};
use crate::server::chat::hub::Hub;
use crate::server::clock::now_ms;
use crate::server::names::name_key;
use crate::server::rate_limit::keyed::KeyedLimiter;
use crate::server::rate_limit::Rate;
use crate::server::store::{AccountRecord, AccountStore, Created, SessionRecord};

/// Wrong passwords tried against one account: a few at once, then one a minute.
const LOGINS_PER_ACCOUNT: Rate = Rate {
    per_second: 1.0 / 60.0,
    burst: 5.0,
};
/// Sign-in attempts (any account) from one address.
const LOGINS_PER_ADDRESS: Rate = Rate {
    per_second: 1.0 / 10.0,
    burst: 20.0,
};
/// New sessions and accounts from one address: each costs a database write (and, for an
/// account, a deliberately slow hash).
const SIGN_UPS_PER_ADDRESS: Rate = Rate {
    per_second: 1.0 / 5.0,
    burst: 30.0,
};

/// A session as the request presented it.
#[derive(Clone, Debug)]
pub struct Session {
    /// SHA-256 of the cookie's token: the key to revoke it by.
    pub key: Vec<u8>,
    pub record: SessionRecord,
}

impl Session {
    /// Who this session is, as the page is told (`hub` knows who is an admin).
    pub fn me(&self, hub: &Hub) -> Me {
        Me {
            name: self.record.name.clone(),
            registered: self.record.account_id.is_some(),
            admin: hub.is_admin(&self.record.user_id),
        }
    }
}

/// A session just made: the token goes into the cookie, once.
pub struct NewSession {
    pub token: String,
    pub session: Session,
}

pub struct Auth {
    store: Arc<dyn AccountStore>,
    logins_per_account: KeyedLimiter<String>,
    logins_per_address: KeyedLimiter<IpAddr>,
    sign_ups_per_address: KeyedLimiter<IpAddr>,
}

impl Auth {
    pub fn new(store: Arc<dyn AccountStore>) -> Self {
        Auth {
            store,
            logins_per_account: KeyedLimiter::new(LOGINS_PER_ACCOUNT),
            logins_per_address: KeyedLimiter::new(LOGINS_PER_ADDRESS),
            sign_ups_per_address: KeyedLimiter::new(SIGN_UPS_PER_ADDRESS),
        }
    }

    /// The live session the request's cookie names, if any.
    pub async fn session(&self, headers: &HeaderMap) -> Result<Option<Session>, AppError> {
        let Some(token) = session::token_from(headers) else {
            return Ok(None);
        };
        let key = session::token_hash(&token);
        let record = self
            .store
            .session(&key, now_ms())
            .await
            .map_err(AppError::server)?;
        Ok(record.map(|record| Session { key, record }))
    }

    /// Whether `name` belongs to an account other than `user`'s.
    pub async fn registered_to_other(&self, name: &str, user: &str) -> Result<bool, AppError> {
        let account = self
            .store
            .account_by_key(&name_key(name))
            .await
            .map_err(AppError::server)?;
        Ok(account.is_some_and(|a| a.user_id != user))
    }

    /// Starts (or renames) a guest session under `name`. A guest keeps their user id
    /// across renames; an account holder who asks for a guest name is signed out of the
    /// account on this browser.
    pub async fn start_guest(
        &self,
        hub: &Hub,
        name: &str,
        current: Option<&Session>,
        addr: IpAddr,
    ) -> Result<NewSession, AppError> {
        let user = guest_user_id(current);
        // Registered first: "log in to use it" helps more than "someone is online".
        let trimmed = crate::protocol::normalize_name(name).map_err(AppError::BadName)?;
        if self.registered_to_other(&trimmed, &user).await? {
            return Err(AppError::NameRegistered(trimmed));
        }
        let name = hub.check_name(&user, &trimmed)?;
        hub.check_visitor(&user, addr, true)?;
        self.sign_up_allowed(addr)?;
        self.replace(current).await?;
        self.open_session(None, user, name).await
    }

    /// Registers `name` with `password`. A guest registering the name they use keeps
    /// being the same person to the room.
    pub async fn register(
        &self,
        hub: &Hub,
        name: &str,
        password: String,
        current: Option<&Session>,
        addr: IpAddr,
    ) -> Result<NewSession, AppError> {
        let user = guest_user_id(current);
        let name = hub.check_name(&user, name)?;
        hub.check_visitor(&user, addr, true)?;
        password::check_policy(&name, &password).map_err(AppError::Invalid)?;
        self.sign_up_allowed(addr)?;
        let hash = tokio::task::spawn_blocking(move || password::hash(&password))
            .await
            .map_err(AppError::server)?;
        let created = self
            .store
            .create_account(&user, &name, &name_key(&name), &hash, now_ms())
            .await
            .map_err(AppError::server)?;
        let account = match created {
            Created::Created(account) => account,
            Created::Taken => return Err(AppError::NameRegistered(name)),
        };
        hub.note_registered(&account.user_id, &account.name);
        // The first account is the server's admin (the store made it so).
        if !hub.has_admin() {
            hub.reload_moderation().await?;
        }
        self.replace(current).await?;
        self.open_session(Some(account.id), account.user_id, account.name)
            .await
    }

    /// Checks `password` for the account `name`. Limited per account and per address
    /// before any hashing, so guessing is slow and cheap to refuse.
    pub async fn log_in(
        &self,
        name: &str,
        password: String,
        current: Option<&Session>,
        addr: IpAddr,
    ) -> Result<NewSession, AppError> {
        let key = name_key(name.trim());
        let now = Instant::now();
        if !self.logins_per_address.try_take(&addr, now)
            || !self.logins_per_account.try_take(key.as_str(), now)
        {
            return Err(AppError::RateLimited);
        }
        let account = self
            .store
            .account_by_key(&key)
            .await
            .map_err(AppError::server)?;
        if !self.password_matches(account.as_ref(), password).await? {
            return Err(AppError::WrongPassword);
        }
        let account = account.ok_or(AppError::WrongPassword)?;
        self.replace(current).await?;
        self.open_session(Some(account.id), account.user_id, account.name)
            .await
    }

    /// Ends this browser's session.
    /// Ends `session`, and with `account` every session of that account.
    pub async fn log_out(&self, session: &Session, account: Option<i64>) -> Result<(), AppError> {
        self.store
            .delete_session(&session.key)
            .await
            .map_err(AppError::server)?;
        if let Some(account) = account {
            self.store
                .delete_sessions_of(account)
                .await
                .map_err(AppError::server)?;
        }
        Ok(())
    }

    /// Sets a new password after checking the old one, ends every session of the account
    /// (other devices must sign in again) and opens a fresh one for this browser.
    /// Checks `password` against the session's account (before changing the password,
    /// or deleting the account), limited per address like a log-in; the account.
    pub async fn confirm_password(
        &self,
        session: &Session,
        password: String,
        addr: IpAddr,
    ) -> Result<AccountRecord, AppError> {
        let account_id = session.record.account_id.ok_or(AppError::NotRegistered)?;
        let account = self
            .store
            .account(account_id)
            .await
            .map_err(AppError::server)?
            .ok_or(AppError::NotRegistered)?;
        if !self.logins_per_address.try_take(&addr, Instant::now()) {
            return Err(AppError::RateLimited);
        }
        if !self.password_matches(Some(&account), password).await? {
            return Err(AppError::WrongPassword);
        }
        Ok(account)
    }

    pub async fn change_password(
        &self,
        session: &Session,
        old: String,
        new: String,
        addr: IpAddr,
    ) -> Result<NewSession, AppError> {
        let account = self.confirm_password(session, old, addr).await?;
        password::check_policy(&account.name, &new).map_err(AppError::Invalid)?;
        let hash = tokio::task::spawn_blocking(move || password::hash(&new))
            .await
            .map_err(AppError::server)?;
        self.store
            .set_password(account.id, &hash)
            .await
            .map_err(AppError::server)?;
        self.store
            .delete_sessions_of(account.id)
            .await
            .map_err(AppError::server)?;
        self.open_session(Some(account.id), account.user_id, account.name)
            .await
    }

    /// Forgets expired sessions; run now and then.
    pub async fn sweep(&self) {
        if let Err(err) = self.store.delete_expired_sessions(now_ms()).await {
            tracing::warn!(%err, "sweeping expired sessions failed");
        }
    }

    async fn password_matches(
        &self,
        account: Option<&AccountRecord>,
        password: String,
    ) -> Result<bool, AppError> {
        // Without an account, check against a decoy so the answer takes as long.
        let (phc, exists) = match account {
            Some(account) => (account.password_hash.clone(), true),
            None => (password::decoy_hash().to_owned(), false),
        };
        let matches = tokio::task::spawn_blocking(move || password::verify(&password, &phc))
            .await
            .map_err(AppError::server)?;
        Ok(exists && matches)
    }

    fn sign_up_allowed(&self, addr: IpAddr) -> Result<(), AppError> {
        if self.sign_ups_per_address.try_take(&addr, Instant::now()) {
            Ok(())
        } else {
            Err(AppError::RateLimited)
        }
    }

    /// A browser signing in as someone else drops the session it had.
    async fn replace(&self, current: Option<&Session>) -> Result<(), AppError> {
        match current {
            Some(old) => self.log_out(old, None).await,
            None => Ok(()),
        }
    }

    async fn open_session(
        &self,
        account_id: Option<i64>,
        user_id: String,
        name: String,
    ) -> Result<NewSession, AppError> {
        let token = session::new_token();
        let key = session::token_hash(&token);
        let now = now_ms();
        let record = SessionRecord {
            account_id,
            user_id,
            name,
            expires_ms: now + session::LIFETIME_MS,
        };
        self.store
            .create_session(&key, &record, now)
            .await
            .map_err(AppError::server)?;
        Ok(NewSession {
            token,
            session: Session { key, record },
        })
    }
}

/// The user id a sign-up from this browser gets: a guest keeps theirs (so that renaming
/// or registering the name in use is the same person to the room); anyone else gets a
/// new one.
fn guest_user_id(current: Option<&Session>) -> String {
    current
        .filter(|s| s.record.account_id.is_none())
        .map(|s| s.record.user_id.clone())
        .unwrap_or_else(new_user_id)
}

/// A guest's id: random, so nobody can pose as another guest.
fn new_user_id() -> String {
    let bits: u128 = rand::random();
    format!("g-{bits:032x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::chat::hub::HubLimits;
    use crate::server::store::{SqliteStore, Store};
    use axum::http::HeaderValue;

    struct Fixture {
        _dir: tempfile::TempDir,
        store: Arc<SqliteStore>,
        auth: Auth,
        hub: Arc<Hub>,
    }

    async fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(&dir.path().join("t.db")).await.unwrap());
        let rooms: Arc<dyn Store> = store.clone();
        let hub = Hub::start(rooms, HubLimits::default()).await.unwrap();
        Fixture {
            auth: Auth::new(store.clone()),
            store,
            hub,
            _dir: dir,
        }
    }

    impl Fixture {
        async fn register(&self, name: &str) -> NewSession {
            let password = PASSWORD.into();
            let new = self.auth.register(&self.hub, name, password, None, HOME);
            new.await.unwrap()
        }
    }

    /// The request headers of a browser holding `token`.
    fn cookie_of(token: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let value = format!("{}={token}", session::COOKIE);
        headers.insert("cookie", HeaderValue::from_str(&value).unwrap());
        headers
    }

    fn cookie(new: &NewSession) -> HeaderMap {
        cookie_of(&new.token)
    }

    const HOME: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
    const PASSWORD: &str = "plum tractor violin";

    #[tokio::test]
    async fn register_log_out_and_log_in_again() {
        let f = fixture().await;
        let new = f.register("Ana").await;
        let session = f.auth.session(&cookie(&new)).await.unwrap().unwrap();
        assert_eq!(
            session.me(&f.hub),
            Me {
                name: "Ana".into(),
                registered: true,
                admin: true
            }
        );

        f.auth.log_out(&session, None).await.unwrap();
        assert!(f.auth.session(&cookie(&new)).await.unwrap().is_none());

        let wrong = f
            .auth
            .log_in("ana", "plum tractor viola".into(), None, HOME)
            .await;
        assert_eq!(wrong.err(), Some(AppError::WrongPassword));
        let nobody = f.auth.log_in("nobody", PASSWORD.into(), None, HOME).await;
        assert_eq!(
            nobody.err(),
            Some(AppError::WrongPassword),
            "same answer, no hint"
        );
        let again = f
            .auth
            .log_in(" ANA ", PASSWORD.into(), None, HOME)
            .await
            .unwrap();
        assert_eq!(again.session.record.user_id, new.session.record.user_id);
        assert!(f.auth.session(&cookie(&again)).await.unwrap().is_some());
    }

    #[tokio::test]
    async fn registered_names_are_refused_to_guests_and_weak_passwords_to_all() {
        let f = fixture().await;
        f.register("ana").await;
        let guest = f.auth.start_guest(&f.hub, "ANA", None, HOME).await;
        assert_eq!(guest.err(), Some(AppError::NameRegistered("ANA".into())));
        let twice = f
            .auth
            .register(&f.hub, "Ana", PASSWORD.into(), None, HOME)
            .await;
        assert_eq!(twice.err(), Some(AppError::NameRegistered("Ana".into())));
        let weak = f
            .auth
            .register(&f.hub, "bo", "password123".into(), None, HOME)
            .await;
        assert!(matches!(weak, Err(AppError::Invalid(_))));
    }

    #[tokio::test]
    async fn a_guest_who_registers_stays_the_same_person() {
        let f = fixture().await;
        let guest = f
            .auth
            .start_guest(&f.hub, "cleo", None, HOME)
            .await
            .unwrap();
        let current = f.auth.session(&cookie(&guest)).await.unwrap().unwrap();
        let account = f
            .auth
            .register(&f.hub, "cleo", PASSWORD.into(), Some(&current), HOME)
            .await
            .unwrap();
        assert_eq!(account.session.record.user_id, guest.session.record.user_id);
        assert!(
            f.auth.session(&cookie(&guest)).await.unwrap().is_none(),
            "the guest session was replaced"
        );
    }

    #[tokio::test]
    async fn sessions_expire() {
        let f = fixture().await;
        let token = session::new_token();
        let key = session::token_hash(&token);
        let record = SessionRecord {
            account_id: None,
            user_id: "g-old".into(),
            name: "old".into(),
            expires_ms: now_ms() - 1,
        };
        f.store
            .create_session(&key, &record, now_ms() - 10)
            .await
            .unwrap();
        assert!(f.auth.session(&cookie_of(&token)).await.unwrap().is_none());
        assert_eq!(f.store.delete_expired_sessions(now_ms()).await.unwrap(), 1);
    }

    #[tokio::test]
    async fn a_password_change_ends_every_session_of_the_account() {
        let f = fixture().await;
        let laptop = f.register("dan").await;
        let phone = f
            .auth
            .log_in("dan", PASSWORD.into(), None, HOME)
            .await
            .unwrap();
        let current = f.auth.session(&cookie(&laptop)).await.unwrap().unwrap();
        let wrong = f
            .auth
            .change_password(
                &current,
                "not it at all".into(),
                "new password here".into(),
                HOME,
            )
            .await;
        assert_eq!(wrong.err(), Some(AppError::WrongPassword));
        let fresh = f
            .auth
            .change_password(&current, PASSWORD.into(), "new password here".into(), HOME)
            .await
            .unwrap();
        for old in [&laptop, &phone] {
            assert!(f.auth.session(&cookie(old)).await.unwrap().is_none());
        }
        assert!(f.auth.session(&cookie(&fresh)).await.unwrap().is_some());
        let old_password = f.auth.log_in("dan", PASSWORD.into(), None, HOME).await;
        assert_eq!(old_password.err(), Some(AppError::WrongPassword));
        assert!(f
            .auth
            .log_in("dan", "new password here".into(), None, HOME)
            .await
            .is_ok());
    }

    #[tokio::test]
    async fn guessing_is_limited_per_account_and_per_address() {
        let f = fixture().await;
        f.register("eve").await;
        for _ in 0..5 {
            let guess = f
                .auth
                .log_in("eve", "a wrong guess".into(), None, HOME)
                .await;
            assert_eq!(guess.err(), Some(AppError::WrongPassword));
        }
        // The account is locked for a while, even for the right password, from anywhere.
        let elsewhere = IpAddr::V4(std::net::Ipv4Addr::new(10, 9, 9, 9));
        let right = f.auth.log_in("eve", PASSWORD.into(), None, elsewhere).await;
        assert_eq!(right.err(), Some(AppError::RateLimited));
        // One address spraying many accounts runs out too.
        let mut refused = 0;
        for n in 0..30 {
            let name = format!("someone{n}");
            let guess = f
                .auth
                .log_in(&name, "a wrong guess".into(), None, HOME)
                .await;
            if matches!(guess, Err(AppError::RateLimited)) {
                refused += 1;
            }
        }
        assert!(refused >= 10, "only {refused} of 30 refused");
    }
}

//! The HTTP side of the server: same-origin checks and security headers ([`guard`]), who
//! the client is behind a trusted reverse proxy ([`proxy`]), the front end inside the
//! binary ([`site`]), the
//! service worker and cache rules of the front end's files ([`pwa`]), the request a
//! server function sees ([`request`]) and how its answer's status is chosen
//! ([`status`]).

pub mod guard;
pub mod proxy;
pub mod pwa;
pub mod request;
pub mod site;
pub mod status;

//! Link previews: what a link in a message points to (site, title, description, image),
//! fetched by the server under the SSRF rules so that browsers never contact the linked
//! site.
//!
//! - [`fetch`]: one page, fetched within every limit (addresses, redirects, type, size,
//!   time).
//! - [`meta`]: its title, description, site name and image, read from the HTML.

pub mod fetch;
pub mod meta;

//! The views: components rendered on the server and hydrated in the browser. They read
//! and change the page's state through [`crate::client`] and hold no logic of their own
//! beyond what is shown.
//!
//! Parts shown on a condition are `Option<AnyView>`s or closures returning `AnyView`s
//! (`cond.then(|| view! {..}.into_any())`, with a `Memo` for the condition where it changes
//! more often than the answer), and short lists are plain `Vec<AnyView>`s, rather than
//! `<Show>`, `<For>` or views of their own types: every such part then shares one
//! renderer, where each distinct type adds its own generic code to the WASM. Only the
//! message list, which can be long, is keyed. For the same reason reactive parts are
//! closures written in the `view!` itself (`{move || title()}`, not `{title}`): leptos
//! erases those to one type per output type. `docs/wasm-size.md` has the history.
//!
//! - [`routes`]: which page a path shows; [`pages`]: the pages themselves.
//! - [`room`]: the open room's message list and composer.
//! - [`sidebar`]: rooms, people, who you are; [`account`]: the account forms.
//! - [`people`]: "Message" on a name, new conversations, members, notification levels.
//! - [`banners`]: offers shown above the messages; [`title`]: the tab's title.

pub mod account;
pub mod banners;
pub mod pages;
pub mod people;
pub mod room;
pub mod routes;
pub mod sidebar;
pub mod title;

//! The line under the messages saying who is typing: "Ana is typing…", "Ana and Bo are
//! typing…", "Several people are typing…". Its height is kept while empty, so nothing
//! moves when it speaks.

use leptos::prelude::*;

use crate::client::state::OpenRoom;

#[component]
pub fn TypingLine() -> impl IntoView {
    let room = expect_context::<OpenRoom>();
    let label = Memo::new(move |_| room.typing.with(|t| t.label()));
    view! {
        <p class="typing" aria-live="polite" aria-atomic="true">
            {move || label.get().unwrap_or_default()}
        </p>
    }
}

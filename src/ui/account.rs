//! The account forms, one dialog: chat as a guest under a name (the default, no sign-up),
//! log in, register the name, change the password.

use leptos::prelude::*;

use crate::client::state::{use_chat, Account, Dialog};
use crate::protocol::{normalize_name, AppError, Me, MAX_NAME_CHARS, MIN_PASSWORD_CHARS};

#[component]
pub fn AccountDialog() -> impl IntoView {
    let account = expect_context::<Account>();
    view! {
        {move || {
            let open = account.dialog.get().filter(|_| account.loaded.get());
            open.map(|dialog| view! { <AccountForm dialog/> })
        }}
    }
}

/// What the user typed, read when the form is sent.
#[derive(Clone, Copy)]
struct Fields {
    name: RwSignal<String>,
    password: RwSignal<String>,
    new_password: RwSignal<String>,
    /// Deleting the account removes its messages too (or keeps them as "deleted user").
    remove_messages: RwSignal<bool>,
}

#[component]
fn AccountForm(dialog: Dialog) -> impl IntoView {
    let chat = use_chat();
    let me = chat.account.me.get_untracked();
    let fields = Fields {
        name: RwSignal::new(me.as_ref().map(|m| m.name.clone()).unwrap_or_default()),
        password: RwSignal::new(String::new()),
        new_password: RwSignal::new(String::new()),
        remove_messages: RwSignal::new(false),
    };
    let error = RwSignal::new(chat.account.name_problem.get_untracked());
    let busy = RwSignal::new(false);
    // Someone already chatting may close the form; a newcomer must choose first.
    let can_cancel = me.is_some() && chat.account.name_problem.get_untracked().is_none();
    let registered = me.as_ref().is_some_and(|m| m.registered);
    let first = NodeRef::<leptos::html::Input>::new();
    // The server renders the form so a newcomer sees it at once; it works once the page
    // has hydrated (effects run only then). Until then typing would be lost and Enter
    // would reload the page.
    let ready = RwSignal::new(false);
    crate::client::effect(move || ready.set(true));
    crate::client::effect(move || {
        if let Some(el) = first.get().filter(|_| ready.get()) {
            request_animation_frame(move || {
                // Not when the user is already in the form: a quick typist's password
                // would land in the name field.
                let in_form = document()
                    .active_element()
                    .and_then(|active| active.closest(".name-form").ok().flatten())
                    .is_some();
                if !in_form {
                    let _ = el.focus();
                }
            });
        }
    });

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if let Err(why) = check(dialog, fields) {
            return error.set(Some(why));
        }
        busy.set(true);
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let answer = send(dialog, fields).await;
            busy.set(false);
            match answer {
                Ok(Some(me)) => crate::client::live::signed_in(chat, me),
                // The account is gone: a name to go on as a guest.
                Ok(None) => chat.account.signed_out(),
                Err(err) => error.set(Some(err.to_string())),
            }
        });
    };

    let (title, intro, action) = match dialog {
        Dialog::Guest if me.is_some() => (
            "Change your name",
            "Others will see you under the new name.",
            "Save",
        ),
        Dialog::Guest => (
            "Welcome to Natter",
            "Pick a name the others will see. No sign-up needed.",
            "Start chatting",
        ),
        Dialog::LogIn => (
            "Log in",
            "Use the name and password you registered.",
            "Log in",
        ),
        Dialog::Register => (
            "Register your name",
            "Keep your name: nobody else can use it while you are away.",
            "Register",
        ),
        Dialog::ChangePassword => (
            "Change password",
            "Every other device is logged out.",
            "Change password",
        ),
        Dialog::DeleteAccount => (
            "Delete your account",
            "Your name becomes free for anyone, everywhere you are logged in. This cannot be undone.",
            "Delete my account",
        ),
    };
    let on_input = move |signal: RwSignal<String>| {
        move |ev| {
            signal.set(event_target_value(&ev));
            error.set(None);
        }
    };
    let invalid = move || error.with(Option::is_some).to_string();
    let name_field =
        matches!(dialog, Dialog::Guest | Dialog::LogIn | Dialog::Register).then(|| {
            view! {
                <label for="name-input">"Username"</label>
                <input
                    id="name-input"
                    node_ref=first
                    autocomplete=if dialog == Dialog::Guest { "nickname" } else { "username" }
                    autocapitalize="off"
                    spellcheck="false"
                    maxlength=MAX_NAME_CHARS * 2
                    prop:value=move || fields.name.get()
                    on:input=on_input(fields.name)
                    aria-invalid=invalid
                    aria-describedby="name-error"
                />
            }
            .into_any()
        });
    let password_field = matches!(
        dialog,
        Dialog::LogIn | Dialog::Register | Dialog::ChangePassword | Dialog::DeleteAccount
    )
    .then(|| {
        let (label, autocomplete) = match dialog {
            Dialog::Register => ("Password (at least 10 characters)", "new-password"),
            Dialog::ChangePassword => ("Current password", "current-password"),
            _ => ("Password", "current-password"),
        };
        view! {
            <label for="password-input">{label}</label>
            <input
                id="password-input"
                type="password"
                autocomplete=autocomplete
                prop:value=move || fields.password.get()
                on:input=on_input(fields.password)
                aria-invalid=invalid
                aria-describedby="name-error"
            />
        }
        .into_any()
    });
    let remove_field = (dialog == Dialog::DeleteAccount).then(|| {
        view! {
            <label class="check">
                <input type="checkbox" prop:checked=move || fields.remove_messages.get() on:change=move |ev| fields.remove_messages.set(event_target_checked(&ev))/>
                "Remove my messages too (else they stay, signed “deleted user”)"
            </label>
        }
    });
    let new_password_field = (dialog == Dialog::ChangePassword).then(|| {
        view! {
            <label for="new-password-input">"New password (at least 10 characters)"</label>
            <input
                id="new-password-input"
                type="password"
                autocomplete="new-password"
                prop:value=move || fields.new_password.get()
                on:input=on_input(fields.new_password)
                aria-invalid=invalid
                aria-describedby="name-error"
            />
        }
        .into_any()
    });
    // Guests (and newcomers) can switch between the three ways in.
    let tabs = (!registered && !matches!(dialog, Dialog::ChangePassword | Dialog::DeleteAccount))
        .then(|| {
            let tab = move |to: Dialog, label: &'static str| {
                view! {
                    <button
                        type="button"
                        role="tab"
                        class="tab"
                        aria-selected=(dialog == to).to_string()
                        on:click=move |_| {
                            chat.account.name_problem.set(None);
                            chat.account.dialog.set(Some(to));
                        }
                    >{label}</button>
                }
            };
            view! {
                <div class="tabs" role="tablist">
                    {tab(Dialog::Guest, "Guest")}
                    {tab(Dialog::LogIn, "Log in")}
                    {tab(Dialog::Register, "Register")}
                </div>
            }
            .into_any()
        });

    view! {
        <div class="modal-backdrop" role="dialog" aria-modal="true" aria-labelledby="account-title">
            <form class="name-form" on:submit=submit>
                <fieldset disabled=move || !ready.get()>
                {tabs}
                <h2 id="account-title">{title}</h2>
                <p>{intro}</p>
                {name_field}
                {password_field}
                {new_password_field}
                {remove_field}
                <p id="name-error" class="form-error" role="alert">{move || error.get()}</p>
                <div class="actions">
                    {can_cancel.then(|| view! {
                        <button type="button" class="secondary" on:click=move |_| chat.account.dialog.set(None)>"Cancel"</button>
                    }.into_any())}
                    <button type="submit" disabled=move || busy.get()>{action}</button>
                </div>
                </fieldset>
            </form>
        </div>
    }
}

/// What can be told before asking the server.
fn check(dialog: Dialog, fields: Fields) -> Result<(), String> {
    if !matches!(dialog, Dialog::ChangePassword | Dialog::DeleteAccount) {
        normalize_name(&fields.name.get_untracked())?;
    }
    let short = |p: RwSignal<String>| p.with_untracked(|p| p.chars().count() < MIN_PASSWORD_CHARS);
    match dialog {
        Dialog::LogIn if fields.password.with_untracked(String::is_empty) => {
            Err("Enter your password.".into())
        }
        Dialog::Register if short(fields.password) => Err(format!(
            "Passwords need at least {MIN_PASSWORD_CHARS} characters."
        )),
        Dialog::ChangePassword if short(fields.new_password) => Err(format!(
            "The new password needs at least {MIN_PASSWORD_CHARS} characters."
        )),
        _ => Ok(()),
    }
}

#[cfg(feature = "hydrate")]
async fn send(dialog: Dialog, fields: Fields) -> Result<Option<Me>, AppError> {
    use crate::api::accounts::{change_password, delete_account, enter_as_guest, log_in, register};
    let name = fields.name.get_untracked();
    let password = fields.password.get_untracked();
    match dialog {
        Dialog::Guest => enter_as_guest(name).await.map(Some),
        Dialog::LogIn => log_in(name, password).await.map(Some),
        Dialog::Register => register(name, password).await.map(Some),
        Dialog::ChangePassword => change_password(password, fields.new_password.get_untracked())
            .await
            .map(Some),
        Dialog::DeleteAccount => delete_account(password, fields.remove_messages.get_untracked())
            .await
            .map(|()| None),
    }
}

#[cfg(not(feature = "hydrate"))]
#[allow(dead_code)]
async fn send(_dialog: Dialog, _fields: Fields) -> Result<Option<Me>, AppError> {
    Err(AppError::SignedOut)
}

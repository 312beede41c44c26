//! Moderation as slash commands typed in the composer (`/mute @bo 10m`): what a
//! moderator types is parsed here, on the server, so the page needs no screens for it.
//! A line is a command only when it starts with `/word` and that word is one of ours; any
//! other line (`/etc/hosts`, `¯\_(ツ)_/¯`) is a message.

/// How long a mute lasts when the command says nothing.
pub const DEFAULT_MUTE_MS: i64 = 10 * 60 * 1000;
/// A kick from a public room is a ban this long (from a private room: out of it).
pub const KICK_MS: i64 = 10 * 60 * 1000;
/// The longest slow mode: one message a day.
pub const MAX_SLOW_S: u32 = 24 * 60 * 60;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// `for_ms: None`: until lifted.
    Mute {
        name: String,
        for_ms: Option<i64>,
    },
    Unmute {
        name: String,
    },
    Kick {
        name: String,
    },
    /// From this room, or (`everywhere`) from the server: admins only.
    Ban {
        name: String,
        for_ms: Option<i64>,
        everywhere: bool,
    },
    Unban {
        name: String,
        everywhere: bool,
    },
    Lock(bool),
    /// Seconds between one person's messages; 0 ends slow mode.
    Slow(u32),
    /// Makes (or unmakes) `name` a moderator of this room.
    Moderator {
        name: String,
        grant: bool,
    },
    /// Makes (or unmakes) `name` a server admin.
    Admin {
        name: String,
        grant: bool,
    },
}

pub const HELP: &str = "Commands: /mute @name [10m|2h|1d|forever], /unmute @name, /kick @name, \
/ban @name [1d|forever] [everywhere], /unban @name [everywhere], /lock, /unlock, \
/slow 30s|off, /mod @name, /unmod @name, /admin @name, /unadmin @name.";

/// The command `text` is, if it is one; `Some(Err(why))` for one of ours used wrongly.
pub fn parse(text: &str) -> Option<Result<Command, String>> {
    let text = text.trim();
    let rest = text.strip_prefix('/')?;
    let mut words = rest.split_whitespace();
    let word = words.next()?;
    if !word.chars().all(|c| c.is_ascii_lowercase()) {
        return None;
    }
    let args: Vec<&str> = words.collect();
    let command = match word {
        "mute" => person_then(&args, Some(DEFAULT_MUTE_MS), |name, for_ms, _| {
            Command::Mute { name, for_ms }
        }),
        "unmute" => person(&args).map(|name| Command::Unmute { name }),
        "kick" => person(&args).map(|name| Command::Kick { name }),
        "ban" => person_then(&args, None, |name, for_ms, everywhere| Command::Ban {
            name,
            for_ms,
            everywhere,
        }),
        "unban" => person_then(&args, None, |name, _, everywhere| Command::Unban {
            name,
            everywhere,
        }),
        "lock" | "unlock" if args.is_empty() => Ok(Command::Lock(word == "lock")),
        "slow" => match args.as_slice() {
            ["off"] => Ok(Command::Slow(0)),
            [pace] => duration_ms(pace)
                .flatten()
                .filter(|ms| *ms >= 1000 && *ms <= i64::from(MAX_SLOW_S) * 1000)
                .map(|ms| Command::Slow((ms / 1000) as u32))
                .ok_or_else(|| {
                    "Slow mode takes a pace from 1s to 1d (“/slow 30s”), or “off”.".to_owned()
                }),
            _ => Err("Slow mode takes a pace (“/slow 30s”), or “off”.".to_owned()),
        },
        "mod" | "unmod" => person(&args).map(|name| Command::Moderator {
            name,
            grant: word == "mod",
        }),
        "admin" | "unadmin" => person(&args).map(|name| Command::Admin {
            name,
            grant: word == "admin",
        }),
        "help" => Err(HELP.to_owned()),
        "lock" | "unlock" => Err(format!("/{word} takes nothing after it.")),
        _ => return None,
    };
    Some(command)
}

/// `@name` or `name`, alone.
fn person(args: &[&str]) -> Result<String, String> {
    match args {
        [name] => name_of(name),
        _ => Err("Name one person: “@name”.".to_owned()),
    }
}

/// `@name`, then optionally a duration and `everywhere`, in either order.
fn person_then(
    args: &[&str],
    default_ms: Option<i64>,
    make: impl FnOnce(String, Option<i64>, bool) -> Command,
) -> Result<Command, String> {
    let Some((name, rest)) = args.split_first() else {
        return Err("Name one person: “@name”.".to_owned());
    };
    let name = name_of(name)?;
    let (mut for_ms, mut everywhere) = (default_ms, false);
    for arg in rest {
        if *arg == "everywhere" {
            everywhere = true;
        } else {
            for_ms = duration_ms(arg).ok_or_else(|| {
                format!("“{arg}” is not a duration: say 30s, 10m, 2h, 1d or forever.")
            })?;
        }
    }
    Ok(make(name, for_ms, everywhere))
}

fn name_of(word: &str) -> Result<String, String> {
    let name = word.strip_prefix('@').unwrap_or(word);
    if name.is_empty() {
        Err("Name one person: “@name”.".to_owned())
    } else {
        Ok(name.to_owned())
    }
}

/// `30s`, `10m`, `2h`, `1d` in ms; `forever` is `Some(None)`; anything else `None`.
fn duration_ms(word: &str) -> Option<Option<i64>> {
    if word == "forever" {
        return Some(None);
    }
    let split = word.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = word.split_at(split);
    let number: i64 = number.parse().ok().filter(|n| *n > 0 && *n <= 10_000)?;
    let unit_ms = match unit {
        "s" => 1000,
        "m" => 60 * 1000,
        "h" => 60 * 60 * 1000,
        "d" => 24 * 60 * 60 * 1000,
        _ => return None,
    };
    Some(Some(number * unit_ms))
}

/// "10 minutes", "2 hours", "for good": how long, for the room's notice.
pub fn spoken(for_ms: Option<i64>) -> String {
    let Some(ms) = for_ms else {
        return "until lifted".to_owned();
    };
    let (n, unit) = match ms / 1000 {
        s if s % 86_400 == 0 => (s / 86_400, "day"),
        s if s % 3600 == 0 => (s / 3600, "hour"),
        s if s % 60 == 0 => (s / 60, "minute"),
        s => (s, "second"),
    };
    format!("for {n} {unit}{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse_with_their_defaults() {
        assert_eq!(
            parse("/mute @bo"),
            Some(Ok(Command::Mute {
                name: "bo".into(),
                for_ms: Some(DEFAULT_MUTE_MS)
            }))
        );
        assert_eq!(
            parse(" /ban bo 1d everywhere "),
            Some(Ok(Command::Ban {
                name: "bo".into(),
                for_ms: Some(86_400_000),
                everywhere: true
            }))
        );
        assert_eq!(
            parse("/mute @bo forever"),
            Some(Ok(Command::Mute {
                name: "bo".into(),
                for_ms: None
            }))
        );
        assert_eq!(parse("/slow 30s"), Some(Ok(Command::Slow(30))));
        assert_eq!(parse("/slow off"), Some(Ok(Command::Slow(0))));
        assert_eq!(parse("/lock"), Some(Ok(Command::Lock(true))));
        assert_eq!(
            parse("/mod @Ana"),
            Some(Ok(Command::Moderator {
                name: "Ana".into(),
                grant: true
            }))
        );
    }

    #[test]
    fn other_lines_are_messages() {
        for text in [
            "/etc/hosts is here",
            "hello /mute @bo",
            "/shrug",
            "/",
            "¯\\_(ツ)_/¯",
            "/Mute bo",
        ] {
            assert_eq!(parse(text), None, "{text}");
        }
    }

    #[test]
    fn our_commands_used_wrongly_say_how() {
        for text in [
            "/mute",
            "/mute @bo soon",
            "/slow",
            "/slow 0s",
            "/slow 2d",
            "/lock now",
            "/kick a b",
            "/mute @",
        ] {
            assert!(matches!(parse(text), Some(Err(_))), "{text}");
        }
        assert!(matches!(parse("/help"), Some(Err(h)) if h == HELP));
    }

    #[test]
    fn durations_are_said_as_people_say_them() {
        assert_eq!(spoken(Some(DEFAULT_MUTE_MS)), "for 10 minutes");
        assert_eq!(spoken(Some(3_600_000)), "for 1 hour");
        assert_eq!(spoken(Some(90_000)), "for 90 seconds");
        assert_eq!(spoken(None), "until lifted");
    }
}

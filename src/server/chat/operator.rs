//! What the people who run the server do beyond a room's moderation: the requests of
//! `natter admin` (carried out here, as the server is the only writer of rooms'
//! events), archiving and renaming rooms, and forgetting a person — by the command line,
//! or their own choice when they delete their account.

use std::sync::Arc;
use std::time::Duration;

use super::hub::Hub;
use super::moderation::Actor;
use super::room::{ChangeRequest, Room};
use crate::protocol::{AppError, Change, RoomKind};
use crate::server::admin::request::AdminRequest;
use crate::server::clock::now_ms;
use crate::server::store::moderation::{AuditEntry, ModerationChange, RoomRules};
use crate::server::store::{Asker, NewUpdate};

/// Who `natter admin` acts as: above every role, in every room.
fn operator() -> Actor {
    Actor {
        user: String::new(),
        name: "natter admin".into(),
        operator: true,
    }
}

impl Hub {
    /// Carries out the requests filed by `natter admin`, oldest first, writing each one's
    /// outcome for the command to print.
    pub async fn carry_out_requests(&self) -> Result<(), AppError> {
        let pending = self
            .store
            .pending_requests()
            .await
            .map_err(AppError::server)?;
        for (id, json) in pending {
            let outcome = match serde_json::from_str::<AdminRequest>(&json) {
                Ok(request) => match self.carry_out(request).await {
                    Ok(done) => format!("done: {done}"),
                    Err(why) => format!("refused: {why}"),
                },
                Err(err) => format!("refused: not a request this server knows ({err})"),
            };
            self.store
                .finish_request(id, &outcome, now_ms())
                .await
                .map_err(AppError::server)?;
        }
        Ok(())
    }

    async fn carry_out(&self, request: AdminRequest) -> Result<String, String> {
        match request {
            AdminRequest::Command { room, line } => {
                let command = match super::commands::parse(&line) {
                    Some(parsed) => parsed?,
                    None => return Err(format!("“{line}” is not a command")),
                };
                // A server-wide command still needs a room to be said in; it is not.
                let target = match &room {
                    Some(slug) => self.existing(slug)?,
                    None => self
                        .rooms_for("")
                        .into_iter()
                        .find(|r| r.is_public())
                        .ok_or("this server has no rooms")?,
                };
                let notice = self.command(&operator(), &target, command).await?;
                Ok(notice.trim_matches('_').to_owned())
            }
            AdminRequest::CreateRoom { title, topic } => {
                let info = self
                    .create_room("", "natter admin", &title, &topic, false)
                    .await
                    .map_err(|err| err.to_string())?;
                Ok(format!("made #{}", info.slug))
            }
            AdminRequest::RenameRoom { room, title, topic } => {
                let target = self.existing(&room)?;
                let (_, old_topic) = self.names_of(&target);
                let (title, _, topic) = crate::protocol::normalize_room(
                    &title,
                    topic.as_deref().unwrap_or(&old_topic),
                )?;
                let change = ModerationChange::Rename {
                    room: target.record.id,
                    title: title.clone(),
                    topic,
                };
                self.moderate(change, audit("rename room", &room, &title))
                    .await
                    .map_err(|err| err.to_string())?;
                self.tell_everyone(&target);
                Ok(format!("#{room} is called “{title}” now"))
            }
            AdminRequest::ArchiveRoom { room, archived } => {
                let target = self.existing(&room)?;
                let rules = RoomRules {
                    archived,
                    ..self.rules(&target)
                };
                let what = if archived {
                    "archive room"
                } else {
                    "unarchive room"
                };
                let change = ModerationChange::Rules {
                    room: target.record.id,
                    rules,
                };
                self.moderate(change, audit(what, &room, ""))
                    .await
                    .map_err(|err| err.to_string())?;
                self.tell_everyone(&target);
                Ok(if archived {
                    format!("#{room} is archived: read-only, and listed no more")
                } else {
                    format!("#{room} is back")
                })
            }
            AdminRequest::Purge {
                name,
                remove_messages,
            } => {
                let who = self
                    .find_person(&name)
                    .ok_or_else(|| format!("there is nobody called “{name}”"))?;
                let line = AuditEntry {
                    target: who.name.clone(),
                    ..audit("purge", "", "")
                };
                let detail = self
                    .forget(&who.user, remove_messages, line)
                    .await
                    .map_err(|err| err.to_string())?;
                Ok(format!("forgot {} ({detail})", who.name))
            }
        }
    }

    fn existing(&self, slug: &str) -> Result<Arc<Room>, String> {
        self.room(slug.trim_start_matches('#'))
            .ok_or_else(|| format!("there is no room called “{slug}”"))
    }

    /// Tells everyone who may see `room` how it is listed now (renamed, archived or back).
    fn tell_everyone(&self, room: &Room) {
        for user in self.all_users() {
            if !room.admits(&user) {
                continue;
            }
            if self.rules(room).archived {
                self.tell_removed(&user, room.slug());
            } else {
                self.tell_added(room, &user);
            }
        }
    }

    /// Forgets the person `user`: their messages removed (each an event of its room, as
    /// a moderator's removal is) or signed "deleted user" (each an event too, so open
    /// pages and resumes see it), then everything else of theirs, and their sockets
    /// closed; kept in the audit log as `line` says, with what became of the messages
    /// as its detail, which is returned.
    pub async fn forget(
        &self,
        user: &str,
        remove_messages: bool,
        line: AuditEntry,
    ) -> Result<String, AppError> {
        let mut removed = 0;
        let change = if remove_messages {
            Change::Removed
        } else {
            Change::Disowned
        };
        {
            let messages = self
                .store
                .messages_of(user)
                .await
                .map_err(AppError::server)?;
            for (room_id, seq) in messages {
                let Some(room) = self.room_by_id(room_id) else {
                    continue;
                };
                let mut request = ChangeRequest {
                    update: NewUpdate {
                        cid: format!("forget-{seq}"),
                        target: seq,
                        change: change.clone(),
                        at_ms: now_ms(),
                        by: Asker::Server,
                    },
                    reply: None,
                };
                // The room's queue is bounded: wait for room rather than drop one.
                loop {
                    match room.submit_change_or_return(request) {
                        Ok(()) => break,
                        Err(back) => {
                            request = *back;
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    }
                }
                removed += 1;
            }
        }
        self.store
            .forget_person(user)
            .await
            .map_err(AppError::server)?;
        self.unregister(user);
        for conn in self.conns_of(user) {
            conn.queue.close(super::hub::SIGNED_OUT);
        }
        for room in self.rooms_for(user) {
            if room.kind() != RoomKind::Public {
                room.remove_member(user);
            }
        }
        self.reload_moderation().await?;
        let detail = if remove_messages {
            format!("{removed} messages removed")
        } else {
            format!("{removed} messages kept as a deleted user's")
        };
        let line = AuditEntry {
            detail: detail.clone(),
            ..line
        };
        self.moderate(ModerationChange::Note, line).await?;
        Ok(detail)
    }
}

fn audit(action: &str, room: &str, detail: &str) -> AuditEntry {
    AuditEntry {
        at_ms: now_ms(),
        actor: "natter admin".into(),
        action: action.into(),
        target: String::new(),
        room: room.into(),
        detail: detail.into(),
    }
}

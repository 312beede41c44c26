//! Who is in a room: their tabs on this node, and the other nodes that say they have
//! them (several nodes). A person is present while either holds; the room announces
//! them when they first become present anywhere, and their leaving when they are
//! present nowhere.

use std::collections::{BTreeSet, HashMap};

/// A node of a server of several, as it names itself (random, new at each start).
pub type NodeId = u64;

/// What a change of presence means for the room's people.
#[derive(Debug, PartialEq, Eq)]
pub enum Seen {
    /// Nothing anyone needs to hear.
    Same,
    /// Present now, and nowhere before: announce them, by this name.
    Arrived(String),
    /// Present nowhere now: announce their leaving, by this name.
    Left(String),
}

#[derive(Default)]
pub struct Present {
    /// By presence key (a user under one name: see `room::presence_key`).
    people: HashMap<String, Person>,
}

struct Person {
    user: String,
    name: String,
    /// Tabs open here.
    tabs: u32,
    /// Other nodes with tabs of theirs.
    nodes: BTreeSet<NodeId>,
}

impl Person {
    fn is_present(&self) -> bool {
        self.tabs > 0 || !self.nodes.is_empty()
    }
}

impl Present {
    pub fn len(&self) -> usize {
        self.people.len()
    }

    pub fn is_empty(&self) -> bool {
        self.people.is_empty()
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.people.values().map(|p| p.name.as_str())
    }

    /// The people with a tab here, (user, name): this node's lease.
    pub fn here(&self) -> impl Iterator<Item = (&str, &str)> {
        self.people
            .values()
            .filter(|p| p.tabs > 0)
            .map(|p| (p.user.as_str(), p.name.as_str()))
    }

    /// A tab of `user` as `name` opened here; also whether it is their first here.
    pub fn open_tab(&mut self, key: String, user: &str, name: &str) -> (Seen, bool) {
        let person = self.person(key, user, name);
        let arrived = !person.is_present();
        person.tabs += 1;
        let first_here = person.tabs == 1;
        let seen = match arrived {
            true => Seen::Arrived(person.name.clone()),
            false => Seen::Same,
        };
        (seen, first_here)
    }

    /// A tab here closed; also whether it was their last here.
    pub fn close_tab(&mut self, key: &str) -> (Seen, bool) {
        let Some(person) = self.people.get_mut(key) else {
            return (Seen::Same, false);
        };
        person.tabs = person.tabs.saturating_sub(1);
        let last_here = person.tabs == 0;
        (self.settle(key), last_here)
    }

    /// Node `node` has (`here`) or no longer has tabs of `user` as `name`.
    pub fn remote(
        &mut self,
        node: NodeId,
        key: String,
        user: &str,
        name: &str,
        here: bool,
    ) -> Seen {
        if here {
            let person = self.person(key, user, name);
            let arrived = !person.is_present();
            person.nodes.insert(node);
            return match arrived {
                true => Seen::Arrived(person.name.clone()),
                false => Seen::Same,
            };
        }
        match self.people.get_mut(&key) {
            Some(person) => {
                person.nodes.remove(&node);
                self.settle(&key)
            }
            None => Seen::Same,
        }
    }

    /// Node `node` has tabs of exactly `people` (key → (user, name)) here: its lease,
    /// or nobody when it is gone.
    pub fn lease(&mut self, node: NodeId, people: &HashMap<String, (String, String)>) -> Vec<Seen> {
        let gone: Vec<String> = self
            .people
            .iter()
            .filter(|(key, p)| p.nodes.contains(&node) && !people.contains_key(*key))
            .map(|(key, _)| key.clone())
            .collect();
        let mut seen: Vec<Seen> = gone
            .into_iter()
            .map(|key| self.remote(node, key, "", "", false))
            .collect();
        for (key, (user, name)) in people {
            seen.push(self.remote(node, key.clone(), user, name, true));
        }
        seen.retain(|s| *s != Seen::Same);
        seen
    }

    fn person(&mut self, key: String, user: &str, name: &str) -> &mut Person {
        self.people.entry(key).or_insert_with(|| Person {
            user: user.to_owned(),
            name: name.to_owned(),
            tabs: 0,
            nodes: BTreeSet::new(),
        })
    }

    /// Forgets the person at `key` once present nowhere.
    fn settle(&mut self, key: &str) -> Seen {
        match self.people.get(key) {
            Some(person) if !person.is_present() => {
                Seen::Left(self.people.remove(key).expect("just found").name)
            }
            _ => Seen::Same,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_person_is_present_while_any_node_has_a_tab_of_theirs() {
        let mut p = Present::default();
        let key = || "u-ana/ana".to_owned();
        assert_eq!(
            p.open_tab(key(), "u-ana", "Ana"),
            (Seen::Arrived("Ana".into()), true)
        );
        assert_eq!(
            p.open_tab(key(), "u-ana", "Ana"),
            (Seen::Same, false),
            "a second tab"
        );
        assert_eq!(
            p.remote(7, key(), "u-ana", "Ana", true),
            Seen::Same,
            "also on node 7"
        );
        assert_eq!(p.close_tab("u-ana/ana"), (Seen::Same, false));
        assert_eq!(
            p.close_tab("u-ana/ana"),
            (Seen::Same, true),
            "node 7 still has her"
        );
        assert_eq!(p.here().count(), 0);
        assert_eq!(p.len(), 1);
        assert_eq!(
            p.remote(7, key(), "u-ana", "Ana", false),
            Seen::Left("Ana".into())
        );
        assert_eq!(p.len(), 0);
    }

    #[test]
    fn a_lease_replaces_what_its_node_said_and_an_empty_one_lets_its_people_go() {
        let mut p = Present::default();
        p.remote(7, "u-bo/bo".into(), "u-bo", "Bo", true);
        p.open_tab("u-cy/cy".into(), "u-cy", "Cy");
        let lease: HashMap<String, (String, String)> = [
            ("u-cy/cy".to_owned(), ("u-cy".to_owned(), "Cy".to_owned())),
            ("u-di/di".to_owned(), ("u-di".to_owned(), "Di".to_owned())),
        ]
        .into();
        let seen = p.lease(7, &lease);
        assert!(seen.contains(&Seen::Left("Bo".into())));
        assert!(seen.contains(&Seen::Arrived("Di".into())));
        assert_eq!(seen.len(), 2, "Cy was here already");
        let seen = p.lease(7, &HashMap::new());
        assert_eq!(seen, [Seen::Left("Di".into())], "Cy has a tab here");
        assert_eq!(p.len(), 1);
    }
}

use or_poisoned::OrPoisoned;
use slotmap::{new_key_type, SlotMap};
#[cfg(feature = "sandboxed-arenas")]
use std::cell::RefCell;
#[cfg(not(feature = "sandboxed-arenas"))]
use std::sync::OnceLock;
#[cfg(feature = "sandboxed-arenas")]
use std::sync::Weak;
use std::{
    any::Any,
    hash::Hash,
    sync::{Arc, RwLock},
};

new_key_type! {
    /// Unique identifier for an item stored in the arena.
    pub struct NodeId;
}

pub struct Arena;

pub type ArenaMap = SlotMap<NodeId, Box<dyn Any + Send + Sync>>;

#[cfg(not(feature = "sandboxed-arenas"))]
static MAP: OnceLock<RwLock<ArenaMap>> = OnceLock::new();
#[cfg(feature = "sandboxed-arenas")]
thread_local! {
    pub(crate) static MAP: RefCell<Option<Weak<RwLock<ArenaMap>>>> = RefCell::new(Some(Default::default()));
}

impl Arena {
    #[inline(always)]
    #[allow(unused)]
    pub fn set(arena: &Arc<RwLock<ArenaMap>>) {
        #[cfg(feature = "sandboxed-arenas")]
        {
            let new_arena = Arc::downgrade(arena);
            MAP.with_borrow_mut(|arena| {
                *arena = Some(new_arena);
            })
        }
    }

    #[track_caller]
    pub fn with<U>(fun: impl FnOnce(&ArenaMap) -> U) -> U {
        #[cfg(not(feature = "sandboxed-arenas"))]
        {
            fun(&MAP.get_or_init(Default::default).read().or_poisoned())
        }
        #[cfg(feature = "sandboxed-arenas")]
        {
            Arena::try_with(fun).unwrap_or_else(|| {
                panic!(
                    "at {}, the `sandboxed-arenas` feature is active, but no \
                     Arena is active",
                    std::panic::Location::caller()
                )
            })
        }
    }

    // Natter's patch: unused with one arena now (`read_item`, `write_item`).
    #[cfg_attr(not(feature = "sandboxed-arenas"), allow(dead_code))]
    #[track_caller]
    pub fn try_with<U>(fun: impl FnOnce(&ArenaMap) -> U) -> Option<U> {
        #[cfg(not(feature = "sandboxed-arenas"))]
        {
            Some(fun(&MAP.get_or_init(Default::default).read().or_poisoned()))
        }
        #[cfg(feature = "sandboxed-arenas")]
        {
            MAP.with_borrow(|arena| {
                arena
                    .as_ref()
                    .and_then(Weak::upgrade)
                    .map(|n| fun(&n.read().or_poisoned()))
            })
        }
    }

    #[track_caller]
    pub fn with_mut<U>(fun: impl FnOnce(&mut ArenaMap) -> U) -> U {
        #[cfg(not(feature = "sandboxed-arenas"))]
        {
            fun(&mut MAP.get_or_init(Default::default).write().or_poisoned())
        }
        #[cfg(feature = "sandboxed-arenas")]
        {
            Arena::try_with_mut(fun).unwrap_or_else(|| {
                panic!(
                    "at {}, the `sandboxed-arenas` feature is active, but no \
                     Arena is active",
                    std::panic::Location::caller()
                )
            })
        }
    }

    // Natter's patch: unused with one arena now (`read_item`, `write_item`).
    #[cfg_attr(not(feature = "sandboxed-arenas"), allow(dead_code))]
    #[track_caller]
    pub fn try_with_mut<U>(fun: impl FnOnce(&mut ArenaMap) -> U) -> Option<U> {
        #[cfg(not(feature = "sandboxed-arenas"))]
        {
            Some(fun(&mut MAP
                .get_or_init(Default::default)
                .write()
                .or_poisoned()))
        }
        #[cfg(feature = "sandboxed-arenas")]
        {
            MAP.with_borrow(|arena| {
                arena
                    .as_ref()
                    .and_then(Weak::upgrade)
                    .map(|n| fun(&mut n.write().or_poisoned()))
            })
        }
    }
}

// Natter's patch: the arena's lock, look-up and type check, compiled once rather than in
// every `ArenaItem<T>`'s (every signal's, memo's, stored value's) generic accessors. With
// one arena (no `sandboxed-arenas`: the browser), `SyncStorage` and `LocalStorage` get the
// item from `read_item`/`write_item` with the arena's lock, and only cast the pointer
// (after the `TypeId` check, as `downcast_ref` does) and call their function. See
// NATTER-PATCH.md.
#[cfg(not(feature = "sandboxed-arenas"))]
impl Arena {
    /// The item `node` if it is there and its type is `ty`, with the arena's read lock.
    #[inline(never)]
    pub(crate) fn read_item(
        node: NodeId,
        ty: std::any::TypeId,
    ) -> Option<(std::sync::RwLockReadGuard<'static, ArenaMap>, *const ())> {
        let arena = MAP.get_or_init(Default::default).read().or_poisoned();
        // `<dyn Any>::type_id`, as `downcast_ref` checks the type.
        let item: &dyn Any = &**arena.get(node)?;
        if item.type_id() != ty {
            return None;
        }
        let item = item as *const dyn Any as *const ();
        Some((arena, item))
    }

    /// As `read_item`, with the arena's write lock.
    #[inline(never)]
    pub(crate) fn write_item(
        node: NodeId,
        ty: std::any::TypeId,
    ) -> Option<(std::sync::RwLockWriteGuard<'static, ArenaMap>, *mut ())> {
        let mut arena = MAP.get_or_init(Default::default).write().or_poisoned();
        let item: &mut dyn Any = &mut **arena.get_mut(node)?;
        if (*item).type_id() != ty {
            return None;
        }
        let item = item as *mut dyn Any as *mut ();
        Some((arena, item))
    }
}

// Natter's patch: these two, compiled once, for every `ArenaItem<T>` (see above).
impl Arena {
    /// Removes the item `node` (as `with_mut(|arena| arena.remove(node))`).
    #[inline(never)]
    pub(crate) fn remove(node: NodeId) -> Option<Box<dyn Any + Send + Sync>> {
        Arena::with_mut(|arena| arena.remove(node))
    }

    /// Stores `item` and registers it with the current owner, as
    /// `ArenaItem::new_with_storage` did.
    #[inline(never)]
    pub(crate) fn insert_owned(item: Box<dyn Any + Send + Sync>) -> NodeId {
        let node = Arena::with_mut(|arena| arena.insert(item));
        super::OWNER.with(|o| {
            if let Some(owner) = o.borrow().as_ref().and_then(|o| o.upgrade()) {
                owner.register(node);
            }
        });
        node
    }
}

#[cfg(feature = "sandboxed-arenas")]
pub mod sandboxed {
    use super::{Arena, ArenaMap, MAP};
    use futures::Stream;
    use pin_project_lite::pin_project;
    use std::{
        future::Future,
        pin::Pin,
        sync::{Arc, RwLock, Weak},
        task::{Context, Poll},
    };

    pin_project! {
        /// A [`Future`] that restores its associated arena as the current arena whenever it is
        /// polled.
        ///
        /// Sandboxed arenas are used to ensure that data created in response to e.g., different
        /// HTTP requests can be handled separately, while providing stable identifiers for their
        /// stored values. Wrapping a `Future` in `Sandboxed` ensures that it will always use the
        /// same arena that it was created under.
        pub struct Sandboxed<T> {
            arena: Option<Arc<RwLock<ArenaMap>>>,
            #[pin]
            inner: T,
        }
    }

    impl<T> Sandboxed<T> {
        /// Wraps the given [`Future`], ensuring that any [`ArenaItem`][item] created while it is
        /// being polled will be associated with the same arena that was active when this was
        /// called.
        ///
        /// [item]:[crate::owner::ArenaItem]
        #[track_caller]
        pub fn new(inner: T) -> Self {
            let arena = MAP.with_borrow(|n| n.as_ref().and_then(Weak::upgrade));
            Self { arena, inner }
        }
    }

    impl<Fut> Future for Sandboxed<Fut>
    where
        Fut: Future,
    {
        type Output = Fut::Output;

        fn poll(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Self::Output> {
            if let Some(arena) = self.arena.as_ref() {
                Arena::set(arena);
            }
            let this = self.project();
            this.inner.poll(cx)
        }
    }

    impl<T> Stream for Sandboxed<T>
    where
        T: Stream,
    {
        type Item = T::Item;

        fn poll_next(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Option<Self::Item>> {
            if let Some(arena) = self.arena.as_ref() {
                Arena::set(arena);
            }
            let this = self.project();
            this.inner.poll_next(cx)
        }
    }
}

//! Structs that travel as JSON arrays rather than objects: `[seq, n, "cid", …]`.
//!
//! serde's derived decoder of a struct reads both forms and matches every field's name;
//! an array's reads one form in order. In the page's WASM that is a fraction of the size
//! (see `docs/wasm-size.md`), and the types the page decodes most are these. The Rust
//! structs keep their named fields: [`as_array!`] writes the conversions, and a struct
//! opts in with `#[serde(from = "…Wire", into = "…Wire")]`.

/// `as_array!(Type as TypeWire { field: FieldType, … })`: the tuple `TypeWire`, in field
/// order, and the conversions both ways. Every field is on the wire, always.
#[macro_export]
#[doc(hidden)]
macro_rules! as_array {
    ($ty:ident as $wire:ident { $($field:ident : $t:ty),+ $(,)? }) => {
        #[doc = concat!("[`", stringify!($ty), "`] on the wire: its fields, in order, as an array.")]
        pub type $wire = ($($t,)+);

        impl From<$wire> for $ty {
            fn from(($($field,)+): $wire) -> Self {
                $ty { $($field),+ }
            }
        }

        impl From<$ty> for $wire {
            fn from(value: $ty) -> Self {
                ($(value.$field,)+)
            }
        }
    };
}

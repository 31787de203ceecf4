//! Resources a component instance hands out, held by Erlang as opaque
//! references ([`Held`]).
//!
//! A handle names its instance and its resource type, so that one used
//! with another instance, or where another type is expected, is refused
//! before the guest runs. Dropping a resource runs guest code (its
//! destructor), so it happens in a call: explicitly (`resource_drop/2`),
//! or, for a handle the garbage collector freed, at the start of the
//! instance's next call ([`Drops`]).

use std::sync::{Arc, Mutex, MutexGuard};

use rustler::{Env, Term};
use wasmtime::component::{ResourceAny, ResourceType};

use crate::resource::{self, Handle, OwnResource};

/// Resources whose handles were collected, dropped by the next call.
#[derive(Default)]
pub struct Drops(Mutex<Vec<ResourceAny>>);

/// The mutex's contents: every section that holds one leaves it whole.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl Drops {
    pub fn take(&self) -> Vec<ResourceAny> {
        std::mem::take(&mut *lock(&self.0))
    }

    fn push(&self, any: ResourceAny) {
        lock(&self.0).push(any);
    }
}

/// The instance handles belong to.
pub struct Owner {
    pub instance: u64,
    pub drops: Arc<Drops>,
}

enum State {
    Live(ResourceAny),
    /// Given to the guest as an `own` argument.
    Moved,
    Dropped,
}

/// A resource an instance returned, as Erlang holds it.
pub struct Held {
    instance: u64,
    /// The type as the component's exports name it.
    ty: ResourceType,
    state: Mutex<State>,
    drops: Arc<Drops>,
}

static HELD_TYPE: resource::ResourceType = resource::ResourceType::new();

impl OwnResource for Held {
    fn resource_type() -> &'static resource::ResourceType {
        &HELD_TYPE
    }

    fn collected(&mut self, _env: Env) {
        let state = self.state.get_mut().unwrap_or_else(|p| p.into_inner());
        if let State::Live(any) = std::mem::replace(state, State::Dropped) {
            self.drops.push(any);
        }
    }
}

/// Why a handle cannot be used.
#[derive(Clone, Copy, Debug)]
pub enum Unusable {
    Dropped,
    Moved,
    OtherInstance,
    OtherType,
    /// Passed twice in one call, once as `own`.
    Twice,
}

impl Unusable {
    pub fn message(self) -> &'static str {
        match self {
            Unusable::Dropped => "the resource was dropped",
            Unusable::Moved => "the resource was given to the guest (passed as own)",
            Unusable::OtherInstance => "the resource belongs to another instance",
            Unusable::OtherType => "the resource is of another type",
            Unusable::Twice => "the resource is passed twice and once as own",
        }
    }
}

/// A handle lent to a call: moved into the guest when the call starts, if
/// it is passed as `own`.
pub struct Lent {
    held: Handle<Held>,
    own: bool,
}

impl Lent {
    /// Why the handle cannot be used any more, if another call dropped or
    /// took it since it was lent.
    pub fn unusable(&self) -> Option<Unusable> {
        match &*lock(&self.held.state) {
            State::Live(_) => None,
            State::Moved => Some(Unusable::Moved),
            State::Dropped => Some(Unusable::Dropped),
        }
    }

    /// The call starts: an `own` handle is the guest's now.
    pub fn commit(self) {
        if self.own {
            *lock(&self.held.state) = State::Moved;
        }
    }
}

/// The resource `term` holds, for a parameter of type `ty` (`own` or
/// borrowed) of a call of `owner`; `Err(None)` for a term that is no
/// handle.
pub fn lend(
    term: Term,
    owner: &Owner,
    ty: &ResourceType,
    own: bool,
    lent: &mut Vec<Lent>,
) -> Result<ResourceAny, Option<Unusable>> {
    let held = resource::borrow::<Held>(term).ok_or(None)?;
    if held.instance != owner.instance {
        return Err(Some(Unusable::OtherInstance));
    }
    if held.ty != *ty {
        return Err(Some(Unusable::OtherType));
    }
    let any = match &*lock(&held.state) {
        State::Live(any) => *any,
        State::Moved => return Err(Some(Unusable::Moved)),
        State::Dropped => return Err(Some(Unusable::Dropped)),
    };
    let same = |l: &Lent| std::ptr::eq(&*l.held, held);
    if lent.iter().any(|l| same(l) && (l.own || own)) {
        return Err(Some(Unusable::Twice));
    }
    lent.push(Lent {
        held: Handle::of(held),
        own,
    });
    Ok(any)
}

/// The resource `term` holds, to drop it: taken from the handle.
pub fn take_for_drop(term: Term, owner: &Owner) -> Result<ResourceAny, Option<Unusable>> {
    let held = resource::borrow::<Held>(term).ok_or(None)?;
    if held.instance != owner.instance {
        return Err(Some(Unusable::OtherInstance));
    }
    let mut state = lock(&held.state);
    match std::mem::replace(&mut *state, State::Dropped) {
        State::Live(any) => Ok(any),
        State::Moved => {
            *state = State::Moved;
            Err(Some(Unusable::Moved))
        }
        State::Dropped => Err(Some(Unusable::Dropped)),
    }
}

/// A new handle for a resource the guest returned.
pub fn wrap<'a>(env: Env<'a>, owner: &Owner, any: ResourceAny, ty: ResourceType) -> Term<'a> {
    Handle::new(Held {
        instance: owner.instance,
        ty,
        state: Mutex::new(State::Live(any)),
        drops: owner.drops.clone(),
    })
    .encode(env)
}

//! Resource types of our own, for the resources a call decodes every time:
//! the instance, and the work parked between slices.
//!
//! Rustler finds a resource's type by hashing its `TypeId` on every decode
//! and counts a reference for every `ResourceArc` it decodes. Here the type
//! is a pointer kept when the library loads ([`open`]), a NIF borrows the
//! resource its argument term holds ([`borrow`]) and counts a reference only
//! to keep it past the NIF call ([`Handle`]).

use std::ffi::CStr;
use std::marker::PhantomData;
use std::mem::{align_of, size_of, MaybeUninit};
use std::ops::Deref;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicPtr, Ordering};

use rustler::sys::{
    self, c_void, ErlNifEnv, ErlNifMonitor, ErlNifPid, ErlNifResourceFlags, ErlNifResourceType,
    ErlNifResourceTypeInit,
};
use rustler::{Env, LocalPid, Term};

/// A type kept in a resource of our own.
pub trait OwnResource: Send + Sync + Sized + 'static {
    /// Its resource type, opened when the library loads.
    fn resource_type() -> &'static ResourceType;

    /// A process the resource monitors went down.
    fn down(&self, _env: Env, _pid: LocalPid) {}

    /// The garbage collector freed the last reference, just before the
    /// value is dropped.
    fn collected(&mut self, _env: Env) {}
}

/// Where a resource type is kept.
pub struct ResourceType(AtomicPtr<ErlNifResourceType>);

impl ResourceType {
    pub const fn new() -> Self {
        ResourceType(AtomicPtr::new(ptr::null_mut()))
    }

    fn get(&self) -> *const ErlNifResourceType {
        self.0.load(Ordering::Relaxed)
    }
}

/// Opens `T`'s resource type; for the load callback only.
pub fn open<T: OwnResource>(env: Env, name: &CStr) -> bool {
    // Resource objects are aligned to 8 bytes.
    const { assert!(align_of::<T>() <= 8) };
    let init = ErlNifResourceTypeInit {
        dtor: destructor::<T> as *const sys::ErlNifResourceDtor,
        stop: ptr::null(),
        down: down::<T> as *const sys::ErlNifResourceDown,
    };
    let mut tried = MaybeUninit::uninit();
    // SAFETY: called from the load callback with its env.
    let opened = unsafe {
        sys::enif_open_resource_type_x(
            env.as_c_arg(),
            name.as_ptr(),
            &init,
            ErlNifResourceFlags::ERL_NIF_RT_CREATE,
            tried.as_mut_ptr(),
        )
    };
    T::resource_type()
        .0
        .store(opened as *mut ErlNifResourceType, Ordering::Relaxed);
    !opened.is_null()
}

unsafe extern "C" fn destructor<T: OwnResource>(env: *mut ErlNifEnv, object: *mut c_void) {
    let lifetime = ();
    let env = Env::new(&lifetime, env);
    let value = object as *mut T;
    // A panic must not unwind into the VM; the value is dropped regardless.
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (*value).collected(env)));
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        ptr::drop_in_place(value);
    }));
}

unsafe extern "C" fn down<T: OwnResource>(
    env: *mut ErlNifEnv,
    object: *mut c_void,
    pid: *const ErlNifPid,
    _monitor: *const ErlNifMonitor,
) {
    let lifetime = ();
    let env = Env::new(&lifetime, env);
    let value = &*(object as *const T);
    let pid = LocalPid::from_c_arg(*pid);
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| value.down(env, pid)));
}

/// The `T` that `term` holds, for as long as the term lives (the NIF call
/// it is an argument of, at least).
pub fn borrow<'a, T: OwnResource>(term: Term<'a>) -> Option<&'a T> {
    let mut object: *mut c_void = ptr::null_mut();
    // SAFETY: a term of this env; the type was opened when the library
    // loaded (a null type finds nothing).
    let found = unsafe {
        sys::enif_get_resource(
            term.get_env().as_c_arg(),
            term.as_c_arg(),
            T::resource_type().get(),
            &mut object as *mut *mut c_void as *mut *const c_void,
        )
    };
    // SAFETY: a resource of T's type holds a T, alive while the term is.
    (found != 0).then(|| unsafe { &*(object as *const T) })
}

/// A reference to a resource of our own, which keeps it alive.
pub struct Handle<T: OwnResource> {
    object: NonNull<T>,
    _owns: PhantomData<T>,
}

// SAFETY: the resource is shared like an `Arc<T>`.
unsafe impl<T: OwnResource> Send for Handle<T> {}
unsafe impl<T: OwnResource> Sync for Handle<T> {}

impl<T: OwnResource> Handle<T> {
    /// A new resource holding `value`.
    pub fn new(value: T) -> Self {
        // SAFETY: the type was opened at load; the object has room for a T
        // and is aligned for it (checked in `open`).
        unsafe {
            let object =
                sys::enif_alloc_resource(T::resource_type().get(), size_of::<T>()) as *mut T;
            let object = NonNull::new(object).expect("enif_alloc_resource aborts when it fails");
            ptr::write(object.as_ptr(), value);
            Handle {
                object,
                _owns: PhantomData,
            }
        }
    }

    /// A handle of the resource `value` is in.
    pub fn of(value: &T) -> Self {
        let object = NonNull::from(value);
        // SAFETY: `value` lives in a resource of T's type.
        unsafe { sys::enif_keep_resource(object.as_ptr() as *const c_void) };
        Handle {
            object,
            _owns: PhantomData,
        }
    }

    /// The term of the resource, in `env`.
    pub fn encode<'a>(&self, env: Env<'a>) -> Term<'a> {
        // SAFETY: a live resource object.
        unsafe {
            Term::new(
                env,
                sys::enif_make_resource(env.as_c_arg(), self.object.as_ptr() as *const c_void),
            )
        }
    }
}

/// Monitors `pid` for the resource `value` is in: its `down` runs when
/// `pid` exits.
pub fn monitor<T: OwnResource>(value: &T, env: Env, pid: &LocalPid) -> Option<ErlNifMonitor> {
    let mut monitor = MaybeUninit::uninit();
    // SAFETY: `value` lives in a resource of a type opened with a `down`.
    let failed = unsafe {
        sys::enif_monitor_process(
            env.as_c_arg(),
            value as *const T as *const c_void,
            pid.as_c_arg(),
            monitor.as_mut_ptr(),
        )
    };
    // SAFETY: initialised when enif_monitor_process succeeds.
    (failed == 0).then(|| unsafe { monitor.assume_init() })
}

/// Takes back a monitor `monitor` made.
pub fn demonitor<T: OwnResource>(value: &T, env: Env, monitor: &ErlNifMonitor) {
    // SAFETY: `value` lives in a resource; the monitor is one of its own.
    unsafe {
        sys::enif_demonitor_process(env.as_c_arg(), value as *const T as *const c_void, monitor);
    }
}

impl<T: OwnResource> Clone for Handle<T> {
    fn clone(&self) -> Self {
        Handle::of(self)
    }
}

impl<T: OwnResource> Drop for Handle<T> {
    fn drop(&mut self) {
        // SAFETY: this handle holds one reference.
        unsafe { sys::enif_release_resource(self.object.as_ptr() as *const c_void) };
    }
}

impl<T: OwnResource> Deref for Handle<T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the handle keeps the resource alive.
        unsafe { self.object.as_ref() }
    }
}

//! Reports that run, on the service time of an injected `clock::Clock`;
//! `plan` does the schedule arithmetic (slot k is due at StartTime + k ×
//! interval while k < RecurrenceCount); `worker::Scheduler` claims due
//! executions from the store under a renewed lease, runs the report query
//! on the engine, writes the file to the object store with its size and
//! SHA-256, and finishes the execution with one conditional update that
//! also plans the next one and queues the callback. No HTTP: the server
//! delivers callbacks and serves downloads.

pub mod plan;
pub mod worker;

pub use worker::{AttemptEnd, ExecutionFault, Injector, Observer, Scheduler, SchedulerConfig};

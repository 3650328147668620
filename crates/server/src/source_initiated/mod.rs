//! Source-initiated links (R3, R5): the destination cannot open connections, so the source's
//! link server does the moving for both.
//!
//! The destination's link server holds the INBOUND link and its mirror topics but opens no
//! connection. The source's link server holds the OUTBOUND link (`link.mode` SOURCE, or the
//! OUTBOUND half of a bidirectional pair) and can reach the destination's Kafka cluster. The two
//! servers never talk to each other directly: they share the destination cluster's state topic.
//!
//! - The INBOUND side writes what its REST API is asked for as *control* records
//!   (`ctl/<link>@<id>/<topic>`: a mirror's spec and desired state, or its deletion).
//! - The OUTBOUND side's [`Pusher`] reads them, runs an ordinary mirroring engine named
//!   `<link>@<id>` with the local cluster as source and the destination as destination (so the
//!   engine's own records, checkpoints and offset maps land in the destination's state topic,
//!   as for any destination link), and writes back each mirror's status
//!   (`mstatus/<link>@<id>/<topic>`) and a heartbeat (`peer/<link>@<id>`). It also runs the
//!   INBOUND link's consumer offset sync and ACL sync (the source's groups and ACLs are local
//!   to it), reporting ACL sync's failures in the heartbeat.
//! - The INBOUND side's REST API answers from those records ([`InboundView`]).
//!
//! The link id is the INBOUND side's: the OUTBOUND side takes it from the INBOUND link's record,
//! so that both name the same engine. An OUTBOUND link created before its INBOUND side waits for
//! it, says so in its status, and starts as soon as it appears.
//!
//! - [`exchange`]: the records the two sides exchange, and the INBOUND side's view of them;
//! - [`pusher`]: the OUTBOUND side's task.

pub mod exchange;
pub mod pusher;

pub use exchange::{Control, Heartbeat, InboundView, TaskError, HEARTBEAT_FRESH};
pub use pusher::{PushConfig, PushState, Pusher};

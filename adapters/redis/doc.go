// Package redis holds iohub's Redis backends: the Socket.IO cluster adapter (NewAdapter),
// the shared message store (NewStore) and cluster-wide presence (NewPresence). All three
// share one go-redis client and one key prefix (config key redis.key_prefix).
//
// # Cluster adapter and its wire formats
//
// NewAdapter returns a socket.AdapterConstructor built on the library's
// ClusterAdapterWithHeartbeat: nodes find each other by heartbeat, so ServerCount,
// fetchSockets and serverSideEmit with acks count every live node. One subscriber
// goroutine per Adapter reads every Redis message of every namespace and hands it to its
// namespace adapter inline, so messages are handled in the order Redis delivered them.
//
// Channels are named as Node's @socket.io/redis-adapter names them, with P the key
// prefix (Node's option channelPrefix / key, default "socket.io") and nsp the namespace:
//
//   - Sharded mode (AdapterOptions.Sharded, config redis.sharded; needs Redis 7): every
//     message is Node's ClusterAdapter envelope {uid, nsp, type, data} (JSON, msgpack when
//     the payload carries binary) sent with SPUBLISH on "P#nsp#", responses on
//     "P#nsp#<uid>#". Node servers using
//     createShardedAdapter(pub, sub, { channelPrefix: P, subscriptionMode: "static" })
//     share rooms with iohub nodes. Node's default subscriptionMode "dynamic" puts
//     single-room broadcasts on per-room channels "P#nsp#<room>#": iohub subscribes to
//     those too with AdapterOptions.RoomChannels. iohub always publishes on "P#nsp#",
//     which Node servers in every mode read. Node servers answer iohub's fetchSockets and
//     serverSideEmit, and iohub answers theirs.
//   - Classic mode (the default): room broadcasts are Node's classic msgpack array
//     [uid, packet, {rooms, except, flags}] published on "P#nsp#" or, for exactly one
//     room, "P#nsp#<room>#", so Node servers using createAdapter(pub, sub, { key: P })
//     and iohub nodes deliver each other's broadcasts. Everything else iohub nodes say to
//     each other (heartbeats, socketsJoin/Leave, disconnectSockets, fetchSockets,
//     serverSideEmit, broadcasts with acks, responses) travels as envelopes on
//     "P-cluster#nsp#" and "P-cluster#nsp#<uid>#", channels Node's classic adapter does
//     not listen to.
//
// In both modes iohub also receives @socket.io/redis-emitter broadcasts (classic PUBLISH
// of the msgpack array on "P#nsp#…"; configure the emitter with { key: P }). The
// emitter's socketsJoin, socketsLeave, disconnectSockets and serverSideEmit (requests on
// "P-request#nsp#") are not served: answering Node's classic request protocol is not
// implemented, and listening without answering would stall Node classic servers' requests.
//
// Classic senders (Node's classic adapter, the emitter) do not heartbeat, so they never
// count in ServerCount; Node sharded servers count while they keep publishing.
//
// Pub/sub forgets what a node misses while its subscriber reconnects. So iohub nodes
// also append every message for all nodes, in the same round trip, to a capped stream
// "P-replay#nsp#" (AdapterOptions.ReplayLength entries, default 10000); a node that lost
// Redis reads what it missed from there before anything newer. With Redis persistence
// (appendonly yes), a message a node published, for instance after the store accepted it,
// reaches every other iohub node across a Redis restart.
//
// Payload structs travel as JSON or msgpack; msgpack falls back to json tags, so a struct
// with json tags encodes the same way in both.
package redis

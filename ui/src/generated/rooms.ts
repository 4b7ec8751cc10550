// Generated from crates/proto/src/rooms.rs by its test `ui_types_are_current`; do not edit.
// Regenerate: ONAIR_BLESS_TS=1 cargo test -p onair-proto ui_types_are_current

export type NewRoom = { title: string, category: string, 
/**
 * Live and replays only for the owner and the members they add.
 */
private: boolean, 
/**
 * The room's quality ladder, e.g. `["source", "720p", "480p", "audio"]`
 * (rungs above the source are never made); absent: the relay's.
 */
ladder?: Array<string>, };

export type RoomInfo = { id: string, title: string, category: string, owner: string, 
/**
 * Only the owner and members may watch (media URLs need a [`WatchTicket`]).
 */
private: boolean, live: boolean, 
/**
 * Wall-clock ms when the current live started.
 */
started_at: number | null, 
/**
 * The wall-clock time of RTMP timestamp 0 as the fastest video packet
 * saw it: viewers of the test source turn capture stamps into latency.
 */
clock_anchor_ms: number | null, hls_path: string, 
/**
 * The low-latency stream as HTTP-FLV.
 */
flv_path: string, 
/**
 * The low-latency stream as fragmented MP4 (for Media Source Extensions).
 */
mp4_path: string, 
/**
 * The MSE type of `mp4_path` while live, e.g.
 * `video/mp4; codecs="avc1.64001f,mp4a.40.2"`.
 */
mse_type: string | null, 
/**
 * People here now: the larger of `stream_viewers` and `chat_viewers`.
 */
viewers: number, 
/**
 * Low-latency streams open now (FLV + fMP4).
 */
stream_viewers: number, 
/**
 * Signed-in users in the room's chat.
 */
chat_viewers: number, 
/**
 * The renditions a viewer may choose, `source` first (e.g. `source`,
 * `480p`, `audio`); each below the source at `/live/ROOM/RUNG/`.
 */
ladder: Array<string>, 
/**
 * People following the room or its owner.
 */
followers: number, 
/**
 * The room's cover image (a default picture when the owner set none);
 * `?v=` changes when the cover does.
 */
cover_path: string, 
/**
 * The owner set a cover (false: `cover_path` gives the default).
 */
has_cover: boolean, };

export type RoomKey = { id: string, title: string, category: string, private: boolean, stream_key: string, 
/**
 * `rtmp://ADDR/live/KEY` when the relay runs RTMP ingest.
 */
rtmp_url: string | null, 
/**
 * The same inside TLS, when the relay runs RTMPS ingest.
 */
rtmps_url?: string, hls_path: string, 
/**
 * The room's renditions, `source` first (see [`RoomInfo::ladder`]).
 */
ladder: Array<string>, };

export type PublishTicket = { room: string, rtmp_url: string | null, rtmps_url?: string, 
/**
 * Wall-clock ms after which no new publish is accepted with it.
 */
expires_at: number, };

export type WatchTicket = { room: string, ticket: string, expires_at: number, };

export type ReplayInfo = { id: string, started_at: number, bytes: number, path: string, 
/**
 * The renditions made so far, `source` (at `path`) first, then the
 * room's rungs below it (made in the background after the live).
 */
renditions: Array<Rendition>, };

export type Rendition = { name: string, path: string, };

export type RoomQuery = { 
/**
 * Only rooms on air now (the directory's default view).
 */
live?: boolean, 
/**
 * Substring of the title, any case.
 */
q?: string, category?: string, };

export type RoomStopped = { room: string, 
/**
 * False when nobody was live.
 */
stopped: boolean, };

export type RoomMembers = { room: string, members: Array<string>, };

export type RoomUpdate = { title?: string, category?: string, };

export type Following = { follows: Array<string>, live: Array<RoomInfo>, };

export type FollowState = { 
/**
 * `user:NAME` or `room:ID`.
 */
target: string, following: boolean, 
/**
 * The target's followers now.
 */
followers: number, };

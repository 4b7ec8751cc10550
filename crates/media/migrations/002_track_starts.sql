-- Fragmented MP4 starts every track at zero, losing the encoders' start
-- offsets (B-frame delay, AAC priming). The recorder stores them here as the
-- first packet of each track is written; finalising puts them back, so the
-- final MP4's edit lists keep audio and video in sync.
ALTER TABLE recordings ADD COLUMN video_start_us INTEGER;
ALTER TABLE recordings ADD COLUMN audio_start_us INTEGER;

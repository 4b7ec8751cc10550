//! The Watch screen's commands (built by the app2 branch; see
//! /work/notes/app-contract.md). Empty until then.

//! The Shapley engine: axioms, textbook games, sampling guarantees, money, and the command.

mod axioms;
mod calibration;
mod cli;
mod money;
mod sampling;
mod textbook;

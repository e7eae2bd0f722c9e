//! The Shapley engine: axioms, textbook games, sampling guarantees, money, and the command.

mod axioms;
mod cli;
mod money;
mod sampling;
mod textbook;

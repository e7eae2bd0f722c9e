//! Names held once each and referred to by a 4-byte number: the replay's compact state
//! names the same actors and projects millions of times.

use std::collections::HashMap;

/// Names held once each, numbered in order of first use.
pub struct Names<T> {
    numbers: HashMap<T, u32>,
    names: Vec<T>,
}

impl<T> Default for Names<T> {
    fn default() -> Self {
        Self {
            numbers: HashMap::new(),
            names: Vec::new(),
        }
    }
}

impl<T: Clone + Eq + std::hash::Hash> Names<T> {
    pub fn number(&mut self, name: &T) -> Result<u32, String> {
        if let Some(&number) = self.numbers.get(name) {
            return Ok(number);
        }
        // u32::MAX stays free, so a number plus one still fits.
        let number = u32::try_from(self.names.len())
            .ok()
            .filter(|&n| n < u32::MAX)
            .ok_or("more than 2^32 - 1 names: beyond what the replay numbers")?;
        self.numbers.insert(name.clone(), number);
        self.names.push(name.clone());
        Ok(number)
    }

    /// The number of `name`, if it was numbered.
    pub fn find(&self, name: &T) -> Option<u32> {
        self.numbers.get(name).copied()
    }

    pub fn name(&self, number: u32) -> &T {
        &self.names[number as usize]
    }
}

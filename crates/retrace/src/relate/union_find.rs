//! Union-find over document positions, the one implementation behind stories and provenance.
//! A group's representative is always its smallest member: [`UnionFind::union`] attaches the
//! larger root to the smaller, so labels do not depend on the order of the unions.

/// Disjoint sets of `0..n`.
#[derive(Debug, Clone)]
pub struct UnionFind {
    parent: Vec<u32>,
}

impl UnionFind {
    /// `n` singletons.
    pub fn new(n: usize) -> Self {
        UnionFind {
            parent: (0..n as u32).collect(),
        }
    }

    /// The smallest member of `x`'s group (compressing the path on the way).
    pub fn find(&mut self, x: u32) -> u32 {
        let mut r = x;
        while self.parent[r as usize] != r {
            r = self.parent[r as usize];
        }
        let mut y = x;
        while self.parent[y as usize] != r {
            let next = self.parent[y as usize];
            self.parent[y as usize] = r;
            y = next;
        }
        r
    }

    /// Join the groups of `x` and `y`; false when they were one already.
    pub fn union(&mut self, x: u32, y: u32) -> bool {
        let (rx, ry) = (self.find(x), self.find(y));
        if rx == ry {
            return false;
        }
        self.parent[rx.max(ry) as usize] = rx.min(ry);
        true
    }

    /// Every member's label (the smallest member of its group), in order.
    pub fn labels(&mut self) -> Vec<u32> {
        (0..self.parent.len() as u32)
            .map(|x| self.find(x))
            .collect()
    }

    /// Number of groups.
    pub fn groups(&mut self) -> usize {
        (0..self.parent.len() as u32)
            .filter(|&x| self.find(x) == x)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_the_smallest_member_whatever_the_order() {
        let mut a = UnionFind::new(6);
        assert!(a.union(4, 2));
        assert!(a.union(5, 4));
        assert!(!a.union(2, 5));
        assert!(a.union(3, 1));
        let mut b = UnionFind::new(6);
        b.union(1, 3);
        b.union(2, 5);
        b.union(4, 5);
        assert_eq!(a.labels(), vec![0, 1, 2, 1, 2, 2]);
        assert_eq!(a.labels(), b.labels());
        assert_eq!(a.groups(), 3);
    }
}

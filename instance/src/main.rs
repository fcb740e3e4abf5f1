//! `mono`: the MONO instance binary. Parses the command line and hands over to the library.

fn main() {}

//! The demo cooperative that `mono demo` serves: its own records ([`records`]), its members'
//! clients ([`client`]) and the seeding that admits a member and files an application through
//! the API as those clients would ([`seed`]).

pub mod client;
pub mod records;
pub mod seed;

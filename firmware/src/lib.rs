#![no_std]

pub mod link;

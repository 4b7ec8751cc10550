fn main() { std::process::exit(onair_cli::main()) }

#include <iostream>
#include <string>
#include <vector>

#include "tools/outpost/cli.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  outpost::cli::Io io{std::cout, std::cerr};
  int rc = outpost::cli::RunCli(args, io);
  std::cout.flush();
  return rc;
}

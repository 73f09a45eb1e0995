// main.cc: the `lowbit` command (placeholder until the CLI lands).
int main() { return 0; }

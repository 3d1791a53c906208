from sigrelay.cli import main

main()

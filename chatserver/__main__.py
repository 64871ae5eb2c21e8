from chatserver.cli import main

main()

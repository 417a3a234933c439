from townsquare.cli.main import main

main()

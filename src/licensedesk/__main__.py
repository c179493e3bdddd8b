from licensedesk.entrypoints.cli_simulate import main

main()

mod generate;

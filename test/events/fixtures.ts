/** Shared fixtures of the events tests: real-looking rows of each wire format. */

/** The first data row of the Kaggle/ULB file, as its CSV has it (Class quoted). */
export const KAGGLE_ROW =
  '0,-1.3598071336738,-0.0727811733098497,2.53634673796914,1.37815522427443,-0.338320769942518,0.462387777762292,0.239598554061257,0.0986979012610507,0.363786969611213,0.0907941719789316,-0.551599533260813,-0.617800855762348,-0.991389847235408,-0.311169353699879,1.46817697209427,-0.470400525259478,0.207971241929242,0.0257905801985591,0.403992960255733,0.251412098239705,-0.018306777944153,0.277837575558899,-0.110473910188767,0.0669280749146731,0.128539358273528,-0.189114843888824,0.133558376740387,-0.0210530534538215,149.62,"0"';

/** The 30 numbers of {@link KAGGLE_ROW} as `producer2.py` prints them (pandas floats through `str`). */
export const LAB_DATA = `0.0,${KAGGLE_ROW.split(',').slice(1, 30).join(',')}`;

/** A lab envelope exactly as `producer2.py` sends it (Python `json.dumps` separators). */
export const LAB_ENVELOPE = `{"data": "${LAB_DATA}", "metadata": ["2024-01-01 10:00:00", "random_id", "Web"]}`;

/** A Sparkov header as the real files have it (first column unnamed). */
export const SPARKOV_HEADER =
  ',trans_date_trans_time,cc_num,merchant,category,amt,first,last,gender,street,city,state,zip,lat,long,city_pop,job,dob,trans_num,unix_time,merch_lat,merch_long,is_fraud';

/** A Sparkov row whose merchant and job hold commas and a doubled quote. */
export const SPARKOV_LINE =
  '3,2019-01-01 00:01:16,4992346398065154184,"fraud_Swaniawski, Nitzsche and Welch",misc_net,41.96,Tyler,Garcia,M,408 Bradley Rest,Doe Hill,VA,24433,38.4207,-79.4629,99,"Dance movement psychotherapist, ""senior""",1986-03-28,a41d7549acf90789359a9aa5346dcb46,1325376076,38.674999,-78.632459,1';
